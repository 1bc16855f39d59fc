package procattr

import (
	"math/bits"
	"slices"
	"strings"
	"testing"
)

// members lists the bits set in m.
func members(m bitmask) []int {
	var out []int
	for i := range m.nbits() {
		if m[i/bits.UintSize]&(1<<(i%bits.UintSize)) != 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{"0", []int{0}},
		{"7", []int{7}},
		{"0-3,7", []int{0, 1, 2, 3, 7}},
		{"2-2", []int{2}},
		{"3,1", []int{1, 3}},
		{"1,1-2", []int{1, 2}},
		{" 0 , 2-3 ", []int{0, 2, 3}},
		{"007", []int{7}},
		{"63-65", []int{63, 64, 65}},
		{"65535", []int{65535}},
	} {
		m, err := parseList(tc.in)
		if err != nil {
			t.Errorf("parseList(%q): %v", tc.in, err)
			continue
		}
		if got := members(m); !slices.Equal(got, tc.want) {
			t.Errorf("parseList(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The mask is an array of unsigned long, sized for its highest bit.
func TestParseListLayout(t *testing.T) {
	m, err := parseList("0,65")
	if err != nil {
		t.Fatal(err)
	}
	want := bitmask{1, 0}
	want[65/bits.UintSize] |= 1 << (65 % bits.UintSize)
	if !slices.Equal(m, want) {
		t.Errorf("parseList(0,65) = %#x, want %#x", m, want)
	}
	if m.nbits() != len(want)*bits.UintSize {
		t.Errorf("nbits = %d", m.nbits())
	}
}

func TestParseListErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{",", "empty item"},
		{"0,", "empty item"},
		{"0,,1", "empty item"},
		{"x", `"x" is not a number`},
		{"-1", `"" is not a number`},
		{"+1", `"+1" is not a number`},
		{"1-", `"" is not a number`},
		{"1-2-3", `"2-3" is not a number`},
		{"0x1", `"0x1" is not a number`},
		{"3-1", `range "3-1" ends before it starts`},
		{"65536", "above the limit"},
		{"0-4000000000", "above the limit"},
		{"99999999999999999999999", "above the limit"},
	} {
		_, err := parseList(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseList(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
