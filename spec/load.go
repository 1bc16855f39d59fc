// Package spec reads, checks and produces OCI runtime configurations
// (config.json), and describes what husk supports of them.
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// ConfigName is the file a bundle keeps its configuration in.
const ConfigName = "config.json"

// MaxConfigSize caps config.json: the largest an engine writes is a few
// hundred KB (every env var and mount of a pod), and decoding costs about
// ten times the file's size in memory.
const MaxConfigSize = 16 << 20

// Load reads and validates <bundle>/config.json. The returned spec has
// root.path made absolute against the bundle, since engines send either
// form (containerd a relative "rootfs", podman an absolute path) and
// everything after Load must not depend on the working directory. Relative
// mount destinations are likewise rooted at "/". linux.seccomp comes back
// as JSON, neither decoded nor checked (Unmarshal, seccomp.Profile).
func Load(bundle string) (*specs.Spec, seccomp.Profile, error) {
	path := filepath.Join(bundle, ConfigName)
	data, err := readConfig(path)
	if err != nil {
		return nil, nil, err
	}
	s, profile, err := Unmarshal(data)
	if err != nil {
		return nil, nil, jsonError(path, data, err)
	}
	if s.Root != nil && s.Root.Path != "" {
		root := s.Root.Path
		if !filepath.IsAbs(root) {
			dir, err := filepath.Abs(bundle)
			if err != nil {
				return nil, nil, fmt.Errorf("resolve bundle %s: %w", bundle, err)
			}
			root = filepath.Join(dir, root)
		}
		s.Root.Path = filepath.Clean(root)
	}
	for i := range s.Mounts {
		if d := s.Mounts[i].Destination; d != "" && !filepath.IsAbs(d) {
			s.Mounts[i].Destination = filepath.Join("/", d)
		}
	}
	if err := Validate(s); err != nil {
		return nil, nil, err
	}
	return s, profile, nil
}

// readConfig reads a regular file of at most MaxConfigSize. The open does
// not block, so a FIFO (or a device) under the name is refused rather than
// waited on forever.
func readConfig(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > MaxConfigSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d husk reads", path, fi.Size(), MaxConfigSize)
	}
	// Sized from the stat, one byte over to see the end: io.ReadAll's
	// doubling would copy an engine's config several times, and each
	// new page is a fault for this short-lived process.
	data := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if len(data) > MaxConfigSize {
			return nil, fmt.Errorf("%s: more than the %d bytes husk reads", path, MaxConfigSize)
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // it grew since the stat
		}
	}
}

// parseError gives a JSON decoding failure a message that points at the
// place in the file, while still unwrapping to the encoding/json error.
type parseError struct {
	msg string
	err error
}

func (e *parseError) Error() string { return e.msg }
func (e *parseError) Unwrap() error { return e.err }

func jsonError(path string, data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset := syntax.Offset
		if !syntaxOffsetPast {
			offset++
		}
		line, col := position(data, offset)
		return &parseError{
			msg: fmt.Sprintf("parse %s: line %d, column %d: %v", path, line, col, syntax),
			err: err,
		}
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "top level"
		}
		return &parseError{
			msg: fmt.Sprintf("parse %s: %s: cannot use JSON %s as %v (line %d, column %d)",
				path, field, typ.Value, typ.Type, line, col),
			err: err,
		}
	}
	return fmt.Errorf("parse %s: %w", path, err)
}

// position returns the 1-based line and column of the last byte the decoder
// read before giving up, which is the one it stumbled on.
func position(data []byte, offset int64) (line, col int) {
	i := int(min(offset, int64(len(data)))) - 1
	if i < 0 {
		return 1, 1
	}
	before := data[:i]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = i - bytes.LastIndexByte(before, '\n')
	return line, col
}
