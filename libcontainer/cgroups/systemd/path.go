package systemd

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultSlice holds scopes whose cgroupsPath names no slice;
// DefaultUserSlice does for a rootless container, in the user's systemd
// instance (as runc's rootless driver).
const (
	DefaultSlice     = "system.slice"
	DefaultUserSlice = "user.slice"
)

// unitNameMax is systemd's limit on a unit name, suffix included.
const unitNameMax = 255

// Unit is where a container goes: a scope (or, when cgroupsPath names a
// slice, that slice) and the slice it belongs to.
type Unit struct {
	// Name is the unit systemd creates: "prefix-name.scope", or
	// "name.slice" when cgroupsPath asks for a slice.
	Name string
	// Slice is the parent slice of a scope ("system.slice", "-.slice"
	// for the root); for a slice unit, the slice it is wanted by, if any.
	Slice string
	// Path is the unit's cgroup, relative to the root of the hierarchy
	// systemd manages ("/system.slice/husk-abc.scope"); for the user's
	// instance, relative to that manager's own cgroup
	// ("/user.slice/husk-abc.scope" below user@UID.service).
	Path string
}

// IsSlice tells a slice unit (cgroupsPath "slice:prefix:x.slice") from a
// scope.
func (u *Unit) IsSlice() bool { return strings.HasSuffix(u.Name, ".slice") }

// ParseCgroupsPath maps an OCI linux.cgroupsPath written for the systemd
// driver, "slice:prefix:name", to its unit, following runc's conventions:
//
//   - an empty cgroupsPath is ":husk:<id>";
//   - an empty slice is system.slice (user.slice for the user's instance,
//     user), and "-" the root slice; a slice may
//     name a sub-slice with dashes ("a-b.slice" is a.slice/a-b.slice) but
//     never with slashes;
//   - the unit is "prefix-name.scope", or "name.scope" when prefix is
//     empty; a name ending in ".slice" asks for that slice itself as the
//     container's unit, and prefix is then ignored.
//
// Characters that systemd does not allow in unit names ("+", from a
// container id) are escaped as systemd-escape does ("\x2b").
func ParseCgroupsPath(cgroupsPath, id string, user bool) (*Unit, error) {
	if cgroupsPath == "" {
		cgroupsPath = ":husk:" + id
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("cgroupsPath %q: the systemd cgroup driver expects \"slice:prefix:name\"", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	switch slice {
	case "":
		slice = DefaultSlice
		if user {
			slice = DefaultUserSlice
		}
	case "-":
		slice = "-.slice"
	}
	sliceDir, err := ExpandSlice(slice)
	if err != nil {
		return nil, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
	}
	if name == "" {
		return nil, fmt.Errorf("cgroupsPath %q: the name part is empty", cgroupsPath)
	}
	if strings.HasSuffix(name, ".slice") {
		dir, err := ExpandSlice(name)
		if err != nil {
			return nil, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
		}
		if dir == "/" {
			return nil, fmt.Errorf("cgroupsPath %q: the root slice cannot be a container's unit", cgroupsPath)
		}
		return &Unit{Name: name, Slice: slice, Path: dir}, nil
	}
	unit := escapeUnitName(name)
	if prefix != "" {
		unit = escapeUnitName(prefix) + "-" + unit
	}
	if !strings.HasSuffix(unit, ".scope") {
		unit += ".scope"
	}
	if len(unit) > unitNameMax {
		return nil, fmt.Errorf("cgroupsPath %q: unit name %.40q... is longer than %d bytes", cgroupsPath, unit, unitNameMax)
	}
	return &Unit{Name: unit, Slice: slice, Path: joinCgroup(sliceDir, unit)}, nil
}

// ExpandSlice turns a slice name into its cgroup path the way systemd
// nests slices: "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice, and the
// root slice "-.slice" is "/".
func ExpandSlice(slice string) (string, error) {
	if slice == "-.slice" {
		return "/", nil
	}
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return "", fmt.Errorf("invalid slice name %q: want NAME.slice", slice)
	}
	if strings.Contains(base, "/") {
		return "", fmt.Errorf("invalid slice name %q: sub-slices are written with dashes (a-b.slice), not slashes", slice)
	}
	if strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("invalid slice name %q: a dash must separate two non-empty names", slice)
	}
	if err := checkUnitChars(base); err != nil {
		return "", fmt.Errorf("invalid slice name %q: %w", slice, err)
	}
	var b strings.Builder
	for i := 0; i < len(base); i++ {
		if base[i] == '-' {
			b.WriteString("/" + base[:i] + ".slice")
		}
	}
	b.WriteString("/" + slice)
	return b.String(), nil
}

func joinCgroup(dir, unit string) string {
	if dir == "/" {
		return "/" + unit
	}
	return dir + "/" + unit
}

// unitChar tells the characters systemd allows in unit names.
func unitChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == ':' || c == '-' || c == '_' || c == '.' || c == '\\'
}

func checkUnitChars(s string) error {
	for i := 0; i < len(s); i++ {
		if !unitChar(s[i]) {
			return fmt.Errorf("%q is not allowed in a unit name", s[i])
		}
	}
	return nil
}

// escapeUnitName escapes what systemd does not take in a unit name as
// \xNN, as systemd-escape does; "\" itself is escaped too so that the
// escaping can't be confused with a literal one.
func escapeUnitName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unitChar(c) && c != '\\' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	return b.String()
}

var errNoPid = errors.New("systemd: a scope needs a process: Apply wants the pid of the container's first process")
