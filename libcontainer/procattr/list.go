package procattr

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// maxListIndex bounds CPU and node numbers. It is above every kernel's
// NR_CPUS (8192) and MAX_NUMNODES (1024), and keeps a typo such as
// "0-4000000000" from allocating a mask of half a gigabyte.
const maxListIndex = 1<<16 - 1

// bitmask is the kernel's bitmap type for CPUs and memory nodes: an array
// of unsigned long, bit i of the array standing for CPU or node i. Go's
// uint has the width of the C long on every Linux port.
type bitmask []uint

// count is the number of bits set.
func (m bitmask) count() int {
	n := 0
	for _, w := range m {
		n += bits.OnesCount(w)
	}
	return n
}

// parseList parses the spec's list format for CPUs and memory nodes, a
// comma-separated list of numbers and inclusive ranges such as "0-3,7".
// The empty string is the empty mask (nil).
func parseList(s string) (bitmask, error) {
	if s == "" {
		return nil, nil
	}
	var m bitmask
	for item := range strings.SplitSeq(s, ",") {
		first, last, err := parseRange(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		for i := first; i <= last; i++ {
			m = m.with(i)
		}
	}
	return m, nil
}

// parseRange parses "N" or "N-M".
func parseRange(item string) (int, int, error) {
	if item == "" {
		return 0, 0, fmt.Errorf("empty item")
	}
	lo, hi, isRange := strings.Cut(item, "-")
	first, err := parseIndex(lo)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return first, first, nil
	}
	last, err := parseIndex(hi)
	if err != nil {
		return 0, 0, err
	}
	if last < first {
		return 0, 0, fmt.Errorf("range %q ends before it starts", item)
	}
	return first, last, nil
}

// parseIndex accepts decimal digits only: strconv alone would also take
// signs ("+1").
func parseIndex(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxListIndex {
		return 0, fmt.Errorf("%s is above the limit of %d", s, maxListIndex)
	}
	return n, nil
}

// with returns m with bit i set, grown as needed.
func (m bitmask) with(i int) bitmask {
	word := i / bits.UintSize
	for len(m) <= word {
		m = append(m, 0)
	}
	m[word] |= 1 << (i % bits.UintSize)
	return m
}

// nbits is the number of bits the mask holds.
func (m bitmask) nbits() int { return len(m) * bits.UintSize }
