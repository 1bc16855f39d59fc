package systemd

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Property is one unit property as systemd's D-Bus API takes it: go-systemd's
// own type, so that the properties built here go to its calls as they are.
type Property = sddbus.Property

func prop(name string, v any) Property { return Property{Name: name, Value: dbus.MakeVariant(v)} }

// infinity is how systemd spells "no limit" in its uint64 properties.
const infinity = uint64(math.MaxUint64)

// defaultCPUPeriod is the kernel's CFS period when none is set.
const defaultCPUPeriod = 100000

// ResourceProperties converts the limits that systemd itself manages to
// unit properties. With Delegate=yes systemd still owns the scope's own
// limit files, and writes its idea of them back whenever it re-applies the
// unit (daemon-reload, SetUnitProperties, a sibling's change): a limit that
// is only written to cgroupfs would go back to systemd's default then.
// Everything else (devices, hugetlb, memory.high via unified, ...) is left
// to cgroupfs. v2 selects the cgroup v2 properties; on v1 systemd knows
// fewer (no cpuset, no swap).
//
// Zero values are unset, as cgroupfs reads them, and -1 is "no limit".
func ResourceProperties(r *specs.LinuxResources, v2 bool) []Property {
	if r == nil {
		return nil
	}
	var out []Property
	limit := func(v int64) uint64 {
		if v < 0 {
			return infinity
		}
		return uint64(v)
	}
	if m := r.Memory; m != nil {
		if isSet(m.Limit) {
			name := "MemoryMax"
			if !v2 {
				// Every systemd that still runs cgroup v1 knows
				// MemoryLimit; MemoryMax came later.
				name = "MemoryLimit"
			}
			out = append(out, prop(name, limit(*m.Limit)))
		}
		if v2 && isSet(m.Reservation) {
			out = append(out, prop("MemoryLow", limit(*m.Reservation)))
		}
		if v2 && isSet(m.Swap) {
			// The spec's swap is memory+swap; memory.swap.max is swap
			// alone. Without a known memory limit, cgroupfs works it
			// out from memory.max.
			switch {
			case *m.Swap == -1:
				out = append(out, prop("MemorySwapMax", infinity))
			case isSet(m.Limit) && *m.Limit > 0 && *m.Swap >= *m.Limit:
				out = append(out, prop("MemorySwapMax", uint64(*m.Swap-*m.Limit)))
			}
		}
	}
	if c := r.CPU; c != nil {
		if isSet(c.Shares) {
			if v2 {
				out = append(out, prop("CPUWeight", sharesToWeight(*c.Shares)))
			} else {
				out = append(out, prop("CPUShares", *c.Shares))
			}
		}
		if isSet(c.Quota) {
			if *c.Quota < 0 {
				out = append(out, prop("CPUQuotaPerSecUSec", infinity))
			} else {
				period := uint64(defaultCPUPeriod)
				if isSet(c.Period) {
					period = *c.Period
				}
				// Rounded up: systemd derives the quota back from the
				// per-second value and must not end up below ours.
				perSec := (uint64(*c.Quota)*1000000 + period - 1) / period
				out = append(out, prop("CPUQuotaPerSecUSec", perSec))
			}
		}
		if isSet(c.Period) {
			out = append(out, prop("CPUQuotaPeriodUSec", *c.Period))
		}
		if v2 && c.Cpus != "" {
			if mask, err := cpusetMask(c.Cpus); err == nil {
				out = append(out, prop("AllowedCPUs", mask))
			}
		}
		if v2 && c.Mems != "" {
			if mask, err := cpusetMask(c.Mems); err == nil {
				out = append(out, prop("AllowedMemoryNodes", mask))
			}
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		// systemd refuses TasksMax=0: a limit of 0 is 1, as cgroupfs
		// writes it (runc 1.5 does the same).
		l := *p.Limit
		if l == 0 {
			l = 1
		}
		out = append(out, prop("TasksMax", limit(l)))
	}
	if b := r.BlockIO; b != nil && isSet(b.Weight) {
		if v2 {
			out = append(out, prop("IOWeight", blkioToIOWeight(*b.Weight)))
		} else {
			out = append(out, prop("BlockIOWeight", uint64(*b.Weight)))
		}
	}
	if v2 {
		// linux.resources.unified is written last, over the rest.
		out = mergeProperties(out, unifiedProperties(r.Unified))
	}
	return out
}

// unifiedProperties converts the linux.resources.unified files that
// systemd has a property for. Values it can't read are left to cgroupfs,
// which reports them.
func unifiedProperties(unified map[string]string) []Property {
	keys := make([]string, 0, len(unified))
	for k := range unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Property
	for _, k := range keys {
		v := strings.TrimSpace(unified[k])
		switch k {
		case "memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max", "pids.max":
			n, ok := maxOrNumber(v)
			if !ok {
				continue
			}
			name := map[string]string{
				"memory.max": "MemoryMax", "memory.high": "MemoryHigh", "memory.low": "MemoryLow",
				"memory.min": "MemoryMin", "memory.swap.max": "MemorySwapMax", "pids.max": "TasksMax",
			}[k]
			out = append(out, prop(name, n))
		case "cpu.weight":
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				out = append(out, prop("CPUWeight", n))
			}
		case "io.weight":
			if n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(v, "default")), 10, 64); err == nil {
				out = append(out, prop("IOWeight", n))
			}
		case "cpu.max":
			f := strings.Fields(v)
			if len(f) == 0 || len(f) > 2 {
				continue
			}
			period := uint64(defaultCPUPeriod)
			if len(f) == 2 {
				p, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil || p == 0 {
					continue
				}
				period = p
				out = append(out, prop("CPUQuotaPeriodUSec", p))
			}
			if f[0] == "max" {
				out = append(out, prop("CPUQuotaPerSecUSec", infinity))
			} else if q, err := strconv.ParseUint(f[0], 10, 64); err == nil && q > 0 {
				out = append(out, prop("CPUQuotaPerSecUSec", (q*1000000+period-1)/period))
			}
		case "cpuset.cpus", "cpuset.mems":
			mask, err := cpusetMask(v)
			if err != nil {
				continue
			}
			name := "AllowedCPUs"
			if k == "cpuset.mems" {
				name = "AllowedMemoryNodes"
			}
			out = append(out, prop(name, mask))
		}
	}
	return out
}

func maxOrNumber(v string) (uint64, bool) {
	if v == "max" {
		return infinity, true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

func isSet[T int64 | uint64 | uint16](v *T) bool { return v != nil && *v != 0 }

// sharesToWeight and blkioToIOWeight convert as the cgroupfs driver does,
// so systemd and cgroupfs agree on the value in cpu.weight and io.weight.
func sharesToWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

func blkioToIOWeight(w uint16) uint64 {
	v := uint64(min(max(w, 10), 1000))
	return 1 + (v-10)*9999/990
}

// cpusetMask turns a cpuset list ("0-3,7") into the bitmask systemd's
// AllowedCPUs and AllowedMemoryNodes take: bit n of byte n/8 is CPU n.
func cpusetMask(list string) ([]byte, error) {
	var bits big.Int
	for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		start, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("invalid cpuset %q", list)
		}
		end := start
		if isRange {
			if end, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16); err != nil || end < start {
				return nil, fmt.Errorf("invalid cpuset %q", list)
			}
		}
		for i := start; i <= end; i++ {
			bits.SetBit(&bits, int(i), 1)
		}
	}
	be := bits.Bytes() // big-endian
	mask := make([]byte, len(be))
	for i, b := range be {
		mask[len(be)-1-i] = b
	}
	return mask, nil
}

// AnnotationPrefix marks annotations whose rest names a unit property, as
// with runc: "org.systemd.property.TimeoutStopUSec": "uint64 123456789".
const AnnotationPrefix = "org.systemd.property."

// validName tells a unit property name: a capital letter, then letters and
// digits.
func validName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// plainNumber tells digits with an optional fraction ("90", "1.5").
func plainNumber(s string) bool {
	digits, frac, _ := strings.Cut(s, ".")
	if digits == "" {
		return false
	}
	for _, c := range digits + frac {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// reserved are properties husk must set itself.
var reserved = map[string]string{
	"PIDs":  "husk places the container's process itself",
	"Slice": "the slice comes from linux.cgroupsPath",
}

// knownType is the D-Bus type of common unit properties, so that a bare
// "500" for CPUWeight is sent as the uint64 systemd expects rather than
// GVariant's default int32. Other properties take GVariant text as is
// ("uint64 500", "@t 500", "'string'", "true", "['a', 'b']").
func knownType(name string) string {
	switch name {
	case "CPUWeight", "StartupCPUWeight", "CPUShares", "StartupCPUShares",
		"IOWeight", "StartupIOWeight", "BlockIOWeight", "StartupBlockIOWeight",
		"MemoryMin", "MemoryLow", "MemoryHigh", "MemoryMax", "MemorySwapMax",
		"MemoryZSwapMax", "MemoryLimit", "TasksMax":
		return "t"
	case "CPUAccounting", "MemoryAccounting", "TasksAccounting", "IOAccounting",
		"BlockIOAccounting", "Delegate", "DefaultDependencies", "SendSIGKILL",
		"SendSIGHUP":
		return "b"
	case "KillSignal", "FinalKillSignal", "OOMScoreAdjust":
		return "i"
	case "Description", "CollectMode", "KillMode", "OOMPolicy", "DevicePolicy",
		"ManagedOOMSwap", "ManagedOOMMemoryPressure", "ManagedOOMPreference":
		return "s"
	case "Wants", "Requires", "After", "Before", "BindsTo", "PartOf", "Conflicts":
		return "as"
	case "AllowedCPUs", "AllowedMemoryNodes":
		return "ay"
	}
	return ""
}

// AnnotationProperties collects the unit properties given as
// org.systemd.property.<Name> annotations, sorted by name. Values are
// GVariant text; in addition, properties ending in "Sec" (as systemd's
// unit files spell them: TimeoutStopSec) take a time span ("90s",
// "1min 30s", "500ms", "infinity", or a number of seconds) and are sent as
// the uint64 microseconds of the "USec" property systemd's API knows
// (TimeoutStopUSec); "USec" properties take a number of microseconds or a
// time span.
func AnnotationProperties(annotations map[string]string) ([]Property, error) {
	var names []string
	for k := range annotations {
		if strings.HasPrefix(k, AnnotationPrefix) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []Property
	seen := map[string]string{}
	for _, k := range names {
		name := strings.TrimPrefix(k, AnnotationPrefix)
		p, err := parseProperty(name, annotations[k])
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", k, err)
		}
		if other, dup := seen[p.Name]; dup {
			return nil, fmt.Errorf("annotations %s and %s both set the unit property %s", other, k, p.Name)
		}
		seen[p.Name] = k
		out = append(out, p)
	}
	return out, nil
}

func parseProperty(name, value string) (Property, error) {
	if !validName(name) {
		return Property{}, fmt.Errorf("%q is not a unit property name", name)
	}
	if why, ok := reserved[name]; ok {
		return Property{}, fmt.Errorf("the unit property %s cannot be set: %s", name, why)
	}
	value = strings.TrimSpace(value)
	switch {
	case strings.HasSuffix(name, "USec"), strings.HasSuffix(name, "NSec"):
		v, err := parseUsec(value, false)
		if err != nil {
			return Property{}, err
		}
		if strings.HasSuffix(name, "NSec") {
			if v != infinity {
				v *= 1000
			}
		}
		return prop(name, v), nil
	case strings.HasSuffix(name, "Sec"):
		v, err := parseUsec(value, true)
		if err != nil {
			return Property{}, err
		}
		return prop(strings.TrimSuffix(name, "Sec")+"USec", v), nil
	}
	sig := knownType(name)
	if sig == "s" && !isQuoted(value) && !strings.HasPrefix(value, "string ") && !strings.HasPrefix(value, "@") {
		return prop(name, value), nil // a bare word: no GVariant quoting needed
	}
	var s dbus.Signature
	if sig != "" {
		s = dbus.ParseSignatureMust(sig)
	}
	v, err := dbus.ParseVariant(value, s)
	if err != nil {
		return Property{}, fmt.Errorf("value %q: %w", value, err)
	}
	return Property{Name: name, Value: v}, nil
}

func isQuoted(s string) bool {
	return len(s) >= 2 && (s[0] == '\'' && s[len(s)-1] == '\'' || s[0] == '"' && s[len(s)-1] == '"')
}

// parseUsec reads a time property: GVariant text for a number, a quoted
// or bare time span, or "infinity". A plain number counts seconds when
// seconds is set (a "Sec" property), microseconds otherwise.
func parseUsec(value string, seconds bool) (uint64, error) {
	s := value
	if isQuoted(s) {
		s = s[1 : len(s)-1]
	}
	if strings.TrimSpace(s) == "infinity" {
		return infinity, nil
	}
	// GVariant numbers: "uint64 5", "@t 5", "5", "1.5".
	num := s
	if _, rest, ok := strings.Cut(s, " "); ok && gvariantNumType(s) {
		num = rest
	}
	if num = strings.TrimSpace(num); plainNumber(num) {
		if !seconds && !strings.Contains(num, ".") {
			v, err := strconv.ParseUint(num, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("value %q: %w", value, err)
			}
			return v, nil
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("value %q: %w", value, err)
		}
		if seconds {
			f *= 1e6
		}
		if f >= math.MaxUint64 {
			return infinity, nil
		}
		return uint64(math.Round(f)), nil
	}
	usec, err := parseTimespan(s)
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", value, err)
	}
	return usec, nil
}

func gvariantNumType(s string) bool {
	for _, p := range []string{"uint64 ", "int64 ", "uint32 ", "int32 ", "uint16 ", "int16 ", "byte ", "double ", "@t ", "@x ", "@u ", "@i ", "@d "} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// timeUnits are systemd's time span units (systemd.time(7)) in µs.
var timeUnits = map[string]float64{
	"us": 1, "usec": 1, "µs": 1, "μs": 1,
	"ms": 1e3, "msec": 1e3,
	"s": 1e6, "sec": 1e6, "second": 1e6, "seconds": 1e6,
	"m": 60e6, "min": 60e6, "minute": 60e6, "minutes": 60e6,
	"h": 3600e6, "hr": 3600e6, "hour": 3600e6, "hours": 3600e6,
	"d": 86400e6, "day": 86400e6, "days": 86400e6,
	"w": 604800e6, "week": 604800e6, "weeks": 604800e6,
	"M": 2629800e6, "month": 2629800e6, "months": 2629800e6,
	"y": 31557600e6, "year": 31557600e6, "years": 31557600e6,
}

var errTimespan = errors.New(`not a time span (such as "90s", "1min 30s", "500ms")`)

// parseTimespan reads a systemd time span: numbers, each followed by a
// unit, spaces allowed; a number without a unit is seconds.
func parseTimespan(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errTimespan
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, errTimespan
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, errTimespan
		}
		s = strings.TrimLeft(s[i:], " ")
		j := 0
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == ' ') {
			j++
		}
		mult := 1e6
		if j > 0 {
			u, ok := timeUnits[s[:j]]
			if !ok {
				return 0, fmt.Errorf("unknown time unit %q", s[:j])
			}
			mult = u
		}
		total += n * mult
		s = strings.TrimLeft(s[j:], " ")
	}
	if total >= math.MaxUint64 {
		return infinity, nil
	}
	return uint64(math.Round(total)), nil
}

// mergeProperties returns base with each of over replacing the property of
// the same name, or appended.
func mergeProperties(base, over []Property) []Property {
	out := append([]Property(nil), base...)
	for _, p := range over {
		replaced := false
		for i := range out {
			if out[i].Name == p.Name {
				out[i] = p
				replaced = true
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

func sameValue(a, b dbus.Variant) bool {
	return a.Signature() == b.Signature() && reflect.DeepEqual(a.Value(), b.Value())
}
