package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// cacheFormat names what Compile makes of a profile and how it is stored:
// it changes whenever either does, so that no older entry is read.
const cacheFormat = "husk-seccomp-4" // 2: the -ENOSYS stub (enosys.go); 3: SPEC_ALLOW without flags; 4: binary search

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
	// The listener's path and metadata go to the agent, not into the
	// program.
	p := *s
	p.ListenerPath, p.ListenerMetadata = "", ""
	profile, err := json.Marshal(&p)
	if err != nil {
		return "", err
	}
	// No flags field and an empty list compile apart (SPEC_ALLOW), and
	// marshal alike.
	if s.Flags == nil {
		profile = append(profile, "\x00no flags field"...)
	}
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
	fmt.Fprintf(h, "%s\x00%d:%d:%d:%d.%d\x00%s\x00%d.%d.%d\x00%s\x00", cacheFormat,
		exe.Dev, exe.Ino, exe.Size, exe.Mtim.Sec, exe.Mtim.Nsec,
		runtime.GOARCH, major, minor, micro, bytes.TrimRight(uts.Release[:], "\x00"))
	h.Write(profile)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MarshalJSON and UnmarshalJSON carry a filter to the stage (and to the
// cache): the program as the kernel takes it, its flags, and whether it
// notifies.
func (f *Filter) MarshalJSON() ([]byte, error) {
	raw, flags := f.Program()
	return json.Marshal(filterJSON{Program: raw, Flags: flags, Notify: f.notify})
}

// Program is the filter as seccomp(2) takes it: the struct sock_filter
// array and the SECCOMP_FILTER_FLAG_* bits.
func (f *Filter) Program() ([]byte, uint) {
	const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))
	raw := make([]byte, 0, len(f.insns)*insnSize)
	for _, in := range f.insns {
		raw = binary.NativeEndian.AppendUint16(raw, in.Code)
		raw = append(raw, in.Jt, in.Jf)
		raw = binary.NativeEndian.AppendUint32(raw, in.K)
	}
	return raw, f.flags
}

func (f *Filter) UnmarshalJSON(data []byte) error {
	var j filterJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	insns, err := parseProgram(j.Program)
	if err != nil {
		return err
	}
	*f = Filter{insns: insns, flags: j.Flags, notify: j.Notify}
	return nil
}

type filterJSON struct {
	Program []byte `json:"program"`
	Flags   uint   `json:"flags"`
	Notify  bool   `json:"notify,omitempty"`
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
	data, err := io.ReadAll(io.LimitReader(file, 64<<10))
	if err != nil {
		return nil, err
	}
	var f Filter
	if err := json.Unmarshal(data, &f); err != nil {
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
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
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
