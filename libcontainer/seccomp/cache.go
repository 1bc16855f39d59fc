package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// cacheFormat names what Compile makes of a profile and how it is stored:
// it changes whenever either does, so that no older entry is read.
const cacheFormat = "husk-seccomp-5" // 2: the -ENOSYS stub (enosys.go); 3: SPEC_ALLOW without flags; 4: binary search; 5: binary entries

// maxCached bounds the cache: engines use a handful of profiles. A cache
// that reaches it (a profile per container, many husk binaries over time)
// is emptied and fills again.
const maxCached = 256

// CompileCached is Compile, with the result kept in dir and found there the
// next time: libseccomp takes about ten milliseconds for podman's default
// profile, paid by every container that uses it. An entry is named by a
// hash of everything the program depends on (the profile but its listener,
// the husk binary, which holds the compiler, by inode, size and time, the
// architecture, libseccomp's version and the kernel's release, which
// decides what libseccomp's actions compile to) and trusted only if it is
// a regular file that this user owns and no one else may write. A cache
// that can't be read or written is no error: the profile is compiled.
func CompileCached(s *specs.LinuxSeccomp, dir string, debugf Debugf) (*Filter, error) {
	if s == nil {
		return nil, nil
	}
	reportLeftOut(s, debugf)
	key, err := cacheKey(s)
	if err != nil || dir == "" {
		return compile(s, debugf)
	}
	path := filepath.Join(dir, key)
	if f, err := readCached(path); err == nil {
		debugf.printf("seccomp: filter read from the cache (%s)", path)
		return f.reported(debugf), nil
	}
	f, err := compile(s, debugf)
	if err != nil {
		return nil, err
	}
	if err := writeCached(dir, path, f); err != nil {
		debugf.printf("seccomp: filter not cached: %v", err)
	}
	return f, nil
}

func cacheKey(s *specs.LinuxSeccomp) (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", err
	}
	var exe unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &exe); err != nil {
		return "", err
	}
	major, minor, micro := libseccomp.GetLibraryVersion()
	w := keyWriter{h: sha256.New(), b: make([]byte, 0, 1024)}
	w.str(cacheFormat)
	for _, n := range []uint64{exe.Dev, exe.Ino, uint64(exe.Size), uint64(exe.Mtim.Sec), uint64(exe.Mtim.Nsec), uint64(major), uint64(minor), uint64(micro)} {
		w.num(n)
	}
	w.str(runtime.GOARCH)
	w.str(string(bytes.TrimRight(uts.Release[:], "\x00")))
	writeProfile(&w, s)
	w.h.Write(w.b)
	return hex.EncodeToString(w.h.Sum(nil)), nil
}

// writeProfile writes every field of s that the program depends on: all
// but the listener's path and metadata, which go to the agent. It walks
// the fields itself rather than hashing a JSON encoding, which cost a
// container a quarter of a millisecond of reflection on every create and
// exec (TestProfileKeyCoversEveryField keeps the two in step).
func writeProfile(w *keyWriter, s *specs.LinuxSeccomp) {
	w.str(string(s.DefaultAction))
	w.optional(s.DefaultErrnoRet)
	w.num(uint64(len(s.Architectures)))
	for _, a := range s.Architectures {
		w.str(string(a))
	}
	// No flags field and an empty list compile apart (SPEC_ALLOW).
	w.bool(s.Flags != nil)
	w.num(uint64(len(s.Flags)))
	for _, f := range s.Flags {
		w.str(string(f))
	}
	w.num(uint64(len(s.Syscalls)))
	for _, sc := range s.Syscalls {
		w.num(uint64(len(sc.Names)))
		for _, n := range sc.Names {
			w.str(n)
		}
		w.str(string(sc.Action))
		w.optional(sc.ErrnoRet)
		w.num(uint64(len(sc.Args)))
		for _, a := range sc.Args {
			w.num(uint64(a.Index))
			w.num(a.Value)
			w.num(a.ValueTwo)
			w.str(string(a.Op))
		}
	}
}

// keyWriter spells values into a hash so that no two sequences of them
// spell alike: strings and lists carry their length, optional values
// whether they are there. It hashes a buffer at a time: a profile is
// hundreds of short names, and a fresh page is dear (docs/design.md).
type keyWriter struct {
	h hash.Hash
	b []byte
}

func (w *keyWriter) num(n uint64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, n)
	w.flush()
}

func (w *keyWriter) str(s string) {
	w.num(uint64(len(s)))
	for len(s) > 0 {
		n := min(len(s), cap(w.b)-len(w.b))
		w.b = append(w.b, s[:n]...)
		s = s[n:]
		w.flush()
	}
}

// flush hashes the buffer once it can't take another number.
func (w *keyWriter) flush() {
	if cap(w.b)-len(w.b) < 8 {
		w.h.Write(w.b)
		w.b = w.b[:0]
	}
}

func (w *keyWriter) bool(b bool) {
	if b {
		w.num(1)
	} else {
		w.num(0)
	}
}

func (w *keyWriter) optional(p *uint) {
	w.bool(p != nil)
	if p != nil {
		w.num(uint64(*p))
	}
}

// The filter's binary form, in which the cache keeps it and the stage
// receives it: its SECCOMP_FILTER_FLAG_* bits (8 bytes, little-endian),
// whether it notifies (1 byte), then the program as seccomp(2) takes it.
// Written and read without reflection: encoding/json's first use in a
// process, and the buffers it grows, cost each container another half
// millisecond.
const headerSize = 9

// AppendBinary appends the filter's binary form to b.
func (f *Filter) AppendBinary(b []byte) ([]byte, error) {
	raw, flags := f.Program()
	b = binary.LittleEndian.AppendUint64(slices.Grow(b, headerSize+len(raw)), uint64(flags))
	if f.notify {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, raw...), nil
}

// UnmarshalBinary takes what AppendBinary appends.
func (f *Filter) UnmarshalBinary(data []byte) error {
	if len(data) < headerSize || data[8] > 1 {
		return fmt.Errorf("seccomp: %d bytes are not a compiled filter", len(data))
	}
	insns, err := parseProgram(data[headerSize:])
	if err != nil {
		return err
	}
	*f = Filter{insns: insns, flags: uint(binary.LittleEndian.Uint64(data)), notify: data[8] == 1}
	return nil
}

// Program is the filter as seccomp(2) takes it: the struct sock_filter
// array and the SECCOMP_FILTER_FLAG_* bits. The array is the filter's own
// memory (Go's unix.SockFilter has the kernel's layout), not to be changed.
func (f *Filter) Program() ([]byte, uint) {
	if len(f.insns) == 0 {
		return nil, f.flags
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f.insns[0])), len(f.insns)*int(unsafe.Sizeof(f.insns[0]))), f.flags
}

func readCached(path string) (*Filter, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s: not a private file of this user", path)
	}
	if st.Size > headerSize+bpfMaxInsns*int64(unsafe.Sizeof(unix.SockFilter{})) {
		return nil, fmt.Errorf("%s: %d bytes, too long for a filter", path, st.Size)
	}
	data := make([]byte, st.Size)
	if _, err := io.ReadFull(file, data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var f Filter
	if err := f.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

func writeCached(dir, path string, f *Filter) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(names) >= maxCached {
		for _, n := range names {
			os.Remove(filepath.Join(dir, n.Name()))
		}
	}
	data, _ := f.AppendBinary(nil)
	tmp, err := os.CreateTemp(dir, ".new-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
