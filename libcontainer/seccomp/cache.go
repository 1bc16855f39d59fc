package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// cacheFormat names what Compile makes of a profile and how it is stored:
// it changes whenever either does, so that no older entry is read.
const cacheFormat = "husk-seccomp-8" // 2: the -ENOSYS stub (enosys.go); 3: SPEC_ALLOW without flags; 4: binary search; 5: binary entries; 6: keyed by the profile's bytes; 7: the dispatch compacted (dispatch.go); 8: the listener's fields kept

// maxCached bounds the cache: engines use a handful of profiles. A cache
// that reaches it (a profile per container, many husk binaries over time)
// is emptied and fills again.
const maxCached = 256

// maxListenerField bounds the listener's path and metadata in an entry
// that is read: a profile with more is compiled each time.
const maxListenerField = 1 << 20

// CompileCached compiles p, with the result kept in dir and found there
// the next time: libseccomp takes about ten milliseconds for podman's
// default profile, paid by every container that uses it. An entry is named
// by a hash of everything the program depends on (the profile's bytes, the
// husk binary, which holds the compiler, by inode, size and time, the
// architecture, libseccomp's version and the kernel's release, which
// decides what libseccomp's actions compile to) and trusted only if it is
// a regular file that this user owns and no one else may write. Only a
// profile that decoded, passed Validate and compiled with this binary
// makes an entry, so a profile found there is neither decoded nor checked
// again. A cache that can't be read or written is no error: the profile is
// compiled.
func CompileCached(p Profile, dir string, debugf Debugf) (*Filter, error) {
	if p == nil {
		return nil, nil
	}
	key, err := cacheKey(p)
	if err != nil || dir == "" {
		return compileProfile(p, debugf)
	}
	path := filepath.Join(dir, key)
	if f, err := readCached(path); err == nil {
		if debugf != nil {
			if s, err := p.Decode(); err == nil {
				reportLeftOut(s, debugf)
			}
		}
		debugf.printf("seccomp: filter read from the cache (%s)", path)
		return f.reported(debugf), nil
	}
	f, err := compileProfile(p, debugf)
	if err != nil {
		return nil, err
	}
	if err := writeCached(dir, path, f); err != nil {
		debugf.printf("seccomp: filter not cached: %v", err)
	}
	return f, nil
}

func compileProfile(p Profile, debugf Debugf) (*Filter, error) {
	s, err := p.Decode()
	if err != nil {
		return nil, err
	}
	return Compile(s, debugf)
}

func cacheKey(p Profile) (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", err
	}
	var exe unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &exe); err != nil {
		return "", err
	}
	major, minor, micro := libseccomp.GetLibraryVersion()
	h := sha256.New()
	b := make([]byte, 0, 256)
	b = appendString(b, cacheFormat)
	for _, n := range []uint64{exe.Dev, exe.Ino, uint64(exe.Size), uint64(exe.Mtim.Sec), uint64(exe.Mtim.Nsec), uint64(major), uint64(minor), uint64(micro)} {
		b = binary.LittleEndian.AppendUint64(b, n)
	}
	b = appendString(b, runtime.GOARCH)
	b = appendString(b, string(bytes.TrimRight(uts.Release[:], "\x00")))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(p)))
	h.Write(b)
	h.Write(p)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// appendString appends s with its length before it, so that no two
// sequences of strings spell alike.
func appendString(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint64(b, uint64(len(s))), s...)
}

// The filter's binary form, in which the cache keeps it and the stage
// receives it, little-endian: its SECCOMP_FILTER_FLAG_* bits (8 bytes),
// whether it notifies (1 byte, then 3 of zeros), the program's length in
// bytes (4), the program as seccomp(2) takes it, then the listener's path
// and metadata, each after its length (4 bytes). The program starts 8
// bytes aligned in a buffer that is, and is then used where it lies.
// Written and read without reflection: encoding/json's first use in a
// process, and the buffers it grows, cost each container another half
// millisecond.
const headerSize = 16

// AppendBinary appends the filter's binary form to b.
func (f *Filter) AppendBinary(b []byte) ([]byte, error) {
	raw, flags := f.Program()
	b = slices.Grow(b, headerSize+len(raw)+8+len(f.listenerPath)+len(f.listenerMetadata))
	b = binary.LittleEndian.AppendUint64(b, uint64(flags))
	notify := byte(0)
	if f.notify {
		notify = 1
	}
	b = append(b, notify, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(raw)))
	b = append(b, raw...)
	for _, s := range []string{f.listenerPath, f.listenerMetadata} {
		b = append(binary.LittleEndian.AppendUint32(b, uint32(len(s))), s...)
	}
	return b, nil
}

// UnmarshalBinary takes what AppendBinary appends. The filter's program
// is data's own memory where data allows it.
func (f *Filter) UnmarshalBinary(data []byte) error {
	bad := func() error { return fmt.Errorf("seccomp: %d bytes are not a compiled filter", len(data)) }
	if len(data) < headerSize || data[8] > 1 || string(data[9:12]) != "\x00\x00\x00" {
		return bad()
	}
	n := int64(binary.LittleEndian.Uint32(data[12:]))
	if n > int64(len(data)-headerSize) {
		return bad()
	}
	insns, err := programOf(data[headerSize : headerSize+n])
	if err != nil {
		return err
	}
	rest := data[headerSize+n:]
	var strs [2]string
	for i := range strs {
		if len(rest) < 4 || int64(binary.LittleEndian.Uint32(rest)) > int64(len(rest)-4) {
			return bad()
		}
		l := binary.LittleEndian.Uint32(rest)
		strs[i], rest = string(rest[4:4+l]), rest[4+l:]
	}
	if len(rest) != 0 {
		return bad()
	}
	*f = Filter{insns: insns, flags: uint(binary.LittleEndian.Uint64(data)), notify: data[8] == 1, listenerPath: strs[0], listenerMetadata: strs[1]}
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

// readCached reads an entry with plain syscalls: an *os.File would try
// the netpoller and set a finalizer, for one read.
func readCached(path string) (*Filter, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s: not a private file of this user", path)
	}
	if st.Size > headerSize+bpfMaxInsns*int64(unsafe.Sizeof(unix.SockFilter{}))+2*(4+maxListenerField) {
		return nil, fmt.Errorf("%s: %d bytes, too long for a filter", path, st.Size)
	}
	data := make([]byte, st.Size)
	for off := 0; off < len(data); {
		n, err := unix.Read(fd, data[off:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, fmt.Errorf("%s: %w", path, err)
		case n == 0:
			return nil, fmt.Errorf("%s: %w", path, io.ErrUnexpectedEOF)
		}
		off += n
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
