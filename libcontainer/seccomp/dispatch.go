package seccomp

import (
	"cmp"
	"math"
	"slices"

	"golang.org/x/sys/unix"
)

// The program's dispatch is its start, which reads only the architecture
// and the syscall number and jumps on them, up to where each (arch, nr)
// leaves it: a return, or the load of an argument that a rule compares.
// libseccomp compares the number with each syscall a profile names, one
// instruction each, though most of them go to the same place (podman's
// profile: 972 comparisons in 1247 instructions, most of them leading to
// SCMP_ACT_ALLOW). compactDispatch rebuilds the dispatch as a binary
// search over ranges of numbers that go to the same place, whose tests
// jump straight to a few shared leaves. The kernel's work to take a
// filter grows with its length and with the walk of each syscall number
// through it (its action cache tries every number), and every filtered
// syscall of the container walks the dispatch.

// The instructions of a dispatch.
const (
	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	retK  = unix.BPF_RET | unix.BPF_K
	ja    = unix.BPF_JMP | unix.BPF_JA
	jeqK  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jgtK  = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	jgeK  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K

	offNr   = 0 // offsetof(struct seccomp_data, nr)
	offArch = 4 // offsetof(struct seccomp_data, arch)
)

// maxWalk bounds the analysis: a program built as a list (libseccomp
// before 2.5) walks each range of numbers through the rest of the list.
const maxWalk = 1 << 20

// span is the numbers lo to hi, both included.
type span struct{ lo, hi uint32 }

// exit: every (arch, nr) of the rectangle leaves the dispatch at the
// instruction target.
type exit struct {
	arch, nr span
	target   int
}

// region: the numbers of span leave the dispatch at target.
type region struct {
	span
	target int
}

// archCell: the architectures of span share one dispatch on the number.
type archCell struct {
	span
	regions []region
}

// compactDispatch returns prog with its dispatch rebuilt as a search over
// ranges, the rest kept as it was, or prog itself when it can't follow the
// dispatch or the result is not shorter. The new program is checked
// against the old one before it is returned: every range of each
// architecture, at both its ends, must leave the two dispatches for the
// same instruction.
func compactDispatch(prog []unix.SockFilter) []unix.SockFilter {
	w := walker{prog: prog}
	all := span{0, math.MaxUint32}
	if !w.walk(0, regNone, all, all) {
		return prog
	}
	// Returns of the same action are one target: libseccomp repeats
	// them, and ranges of numbers join only where targets are equal.
	same := map[unix.SockFilter]int{}
	for i := range w.exits {
		if t := w.exits[i].target; prog[t].Code == retK {
			if first, ok := same[prog[t]]; ok {
				w.exits[i].target = first
			} else {
				same[prog[t]] = t
			}
		}
	}
	cells, ok := archCells(w.exits)
	if !ok {
		return prog
	}
	var e emitter
	if len(cells) > 1 {
		e.out = append(e.out, unix.SockFilter{Code: ldAbs, K: offArch})
	}
	one := func(i, j int) bool { return j-i == 1 }
	e.search(0, len(cells), func(i int) uint32 { return cells[i].lo }, one, func(i, _ int) {
		c := cells[i]
		if len(c.regions) == 1 {
			e.leaf(prog, c.regions[0].target)
			return
		}
		e.out = append(e.out, unix.SockFilter{Code: ldAbs, K: offNr})
		rs := c.regions
		e.search(0, len(rs), func(j int) uint32 { return rs[j].lo }, func(i, j int) bool { return fitsPool(rs[i:j]) }, func(i, j int) {
			e.pooled(prog, rs[i:j])
		})
	})
	out, moved, ok := e.link(prog)
	if !ok || len(out) >= len(prog) || len(out) > bpfMaxInsns || !sameDispatch(prog, out, moved, cells) {
		return prog
	}
	return out
}

// What the accumulator holds in the dispatch.
const (
	regNone = iota // nothing loaded yet
	regArch
	regNr
)

type walker struct {
	prog  []unix.SockFilter
	exits []exit
	steps int
}

// walk follows the program from pc, with the architecture in arch and the
// number in nr, reg telling which of them the accumulator holds, and
// records where each part of the rectangle leaves the dispatch. It
// reports whether it could follow the program: only loads of the two,
// comparisons of them with constants and jumps.
func (w *walker) walk(pc, reg int, arch, nr span) bool {
	for {
		w.steps++
		if w.steps > maxWalk || pc >= len(w.prog) {
			return false
		}
		in := w.prog[pc]
		switch in.Code {
		case ldAbs:
			switch in.K {
			case offNr:
				reg = regNr
			case offArch:
				reg = regArch
			default:
				w.exits = append(w.exits, exit{arch, nr, pc})
				return true
			}
			pc++
		case retK:
			w.exits = append(w.exits, exit{arch, nr, pc})
			return true
		case ja:
			pc += 1 + int(in.K)
		case jeqK, jgtK, jgeK:
			var v *span
			switch reg {
			case regArch:
				v = &arch
			case regNr:
				v = &nr
			default:
				return false
			}
			yes, no := split(in.Code, in.K, *v)
			for _, s := range yes {
				*v = s
				if !w.walk(pc+1+int(in.Jt), reg, arch, nr) {
					return false
				}
			}
			for _, s := range no {
				*v = s
				if !w.walk(pc+1+int(in.Jf), reg, arch, nr) {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
}

// split returns the parts of v for which the comparison op with k holds,
// and those for which it doesn't.
func split(op uint16, k uint32, v span) (yes, no []span) {
	if op == jeqK {
		if k < v.lo || k > v.hi {
			return nil, []span{v}
		}
		if k > v.lo {
			no = append(no, span{v.lo, k - 1})
		}
		if k < v.hi {
			no = append(no, span{k + 1, v.hi})
		}
		return []span{{k, k}}, no
	}
	// jgt and jge hold from first up.
	first := k
	if op == jgtK {
		if k == math.MaxUint32 {
			return nil, []span{v}
		}
		first = k + 1
	}
	switch {
	case first <= v.lo:
		return []span{v}, nil
	case first > v.hi:
		return nil, []span{v}
	}
	return []span{{first, v.hi}}, []span{{v.lo, first - 1}}
}

// archCells cuts the architectures where any exit's range of them starts
// or ends, gives each cell the regions of numbers that tile it, and joins
// neighbouring cells of the same regions. It reports false if the exits
// don't tile the plane, which a program followed whole can't give.
func archCells(exits []exit) ([]archCell, bool) {
	cuts := []uint32{0}
	for _, e := range exits {
		cuts = append(cuts, e.arch.lo)
		if e.arch.hi < math.MaxUint32 {
			cuts = append(cuts, e.arch.hi+1)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var cells []archCell
	for i, lo := range cuts {
		hi := uint32(math.MaxUint32)
		if i+1 < len(cuts) {
			hi = cuts[i+1] - 1
		}
		var regions []region
		for _, e := range exits {
			if e.arch.lo <= lo && lo <= e.arch.hi {
				regions = append(regions, region{e.nr, e.target})
			}
		}
		slices.SortFunc(regions, func(a, b region) int { return cmp.Compare(a.lo, b.lo) })
		joined := regions[:0]
		next := uint64(0) // the number the next region must start at
		for _, r := range regions {
			if uint64(r.lo) != next {
				return nil, false
			}
			next = uint64(r.hi) + 1
			if n := len(joined); n > 0 && joined[n-1].target == r.target {
				joined[n-1].hi = r.hi
				continue
			}
			joined = append(joined, r)
		}
		if next != math.MaxUint32+1 {
			return nil, false
		}
		if n := len(cells); n > 0 && slices.Equal(cells[n-1].regions, joined) {
			cells[n-1].hi = hi
			continue
		}
		cells = append(cells, archCell{span{lo, hi}, joined})
	}
	return cells, true
}

// emitter writes the new dispatch. Its jumps to the kept part of the old
// program are resolved once that part's place is known (link).
type emitter struct {
	out []unix.SockFilter
	// far: the jumps of out, by index, to the old program's instruction
	// of the same index in far's values.
	far map[int]int
}

// search emits a binary search of the accumulator over the ranges i to
// j-1, which tile the numbers in order, range k starting at start(k). A
// run of ranges that small accepts is left to block, which emits their
// code; the others are halved.
func (e *emitter) search(i, j int, start func(int) uint32, small func(i, j int) bool, block func(i, j int)) {
	if small(i, j) {
		block(i, j)
		return
	}
	m := (i + j) / 2
	at := len(e.out)
	e.out = append(e.out, unix.SockFilter{Code: jgeK, K: start(m)})
	e.search(i, m, start, small, block)
	if off := len(e.out) - at - 1; off <= math.MaxUint8 {
		e.out[at].Jt = uint8(off)
	} else {
		// Too far for a conditional jump: it lands on a jump inserted
		// after it, which the other branch skips.
		e.out = slices.Insert(e.out, at+1, unix.SockFilter{Code: ja})
		moved := make(map[int]int, len(e.far))
		for k, v := range e.far {
			if k > at {
				k++
			}
			moved[k] = v
		}
		e.far = moved
		e.out[at].Jt, e.out[at].Jf = 0, 1
		e.out[at+1].K = uint32(len(e.out) - at - 2)
	}
	e.search(m, j, start, small, block)
}

// fitsPool tells whether pooled can emit rs: its tests and its leaves,
// one per target, within the reach of a conditional jump.
func fitsPool(rs []region) bool {
	targets := map[int]bool{}
	for _, r := range rs {
		targets[r.target] = true
	}
	return len(rs)-1+len(targets) <= math.MaxUint8
}

// pooled emits a search over the ranges rs whose tests jump straight to
// their leaves, emitted once per target after the tests: a leaf costs no
// instruction of its own in the search (libseccomp's returns are a few,
// its ranges hundreds).
func (e *emitter) pooled(prog []unix.SockFilter, rs []region) {
	if len(rs) == 1 {
		e.leaf(prog, rs[0].target)
		return
	}
	type branch struct {
		at     int
		jt     bool
		target int
	}
	var branches []branch
	var test func(rs []region)
	test = func(rs []region) {
		m := len(rs) / 2
		at := len(e.out)
		e.out = append(e.out, unix.SockFilter{Code: jgeK, K: rs[m].lo})
		if m == 1 {
			branches = append(branches, branch{at, false, rs[0].target})
		} else {
			test(rs[:m]) // where the test goes on when it fails
		}
		if len(rs)-m == 1 {
			branches = append(branches, branch{at, true, rs[m].target})
		} else {
			e.out[at].Jt = uint8(len(e.out) - at - 1)
			test(rs[m:])
		}
	}
	test(rs)
	leaves := map[int]int{}
	for _, b := range branches {
		if _, ok := leaves[b.target]; !ok {
			leaves[b.target] = len(e.out)
			e.leaf(prog, b.target)
		}
	}
	for _, b := range branches {
		off := uint8(leaves[b.target] - b.at - 1)
		if b.jt {
			e.out[b.at].Jt = off
		} else {
			e.out[b.at].Jf = off
		}
	}
}

// leaf emits the way to the old program's instruction target: a copy of
// it when it is a return, else a jump.
func (e *emitter) leaf(prog []unix.SockFilter, target int) {
	if prog[target].Code == retK {
		e.out = append(e.out, prog[target])
		return
	}
	if e.far == nil {
		e.far = map[int]int{}
	}
	e.far[len(e.out)] = target
	e.out = append(e.out, unix.SockFilter{Code: ja})
}

// link appends to the new dispatch what its jumps reach of the old
// program, in the old order, and resolves every jump. moved maps an old
// instruction's index to its new one (or -1, for one left out). It
// reports false for a jump out of the program, which the kernel refuses.
func (e *emitter) link(prog []unix.SockFilter) (out []unix.SockFilter, moved []int, ok bool) {
	keep := make([]bool, len(prog))
	var todo []int
	for _, t := range e.far {
		todo = append(todo, t)
	}
	for len(todo) > 0 {
		i := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if i >= len(prog) {
			return nil, nil, false
		}
		if keep[i] {
			continue
		}
		keep[i] = true
		in := prog[i]
		switch {
		case in.Code&0x07 == unix.BPF_RET:
		case in.Code == ja:
			todo = append(todo, i+1+int(in.K))
		case in.Code&0x07 == unix.BPF_JMP:
			todo = append(todo, i+1+int(in.Jt), i+1+int(in.Jf))
		default:
			todo = append(todo, i+1)
		}
	}
	moved = make([]int, len(prog))
	n := len(e.out)
	for i := range prog {
		moved[i] = -1
		if keep[i] {
			moved[i] = n
			n++
		}
	}
	out = slices.Grow(e.out, n-len(e.out))
	for i, in := range prog {
		if !keep[i] {
			continue
		}
		switch {
		case in.Code == ja:
			in.K = uint32(moved[i+1+int(in.K)] - moved[i] - 1)
		case in.Code&0x07 == unix.BPF_JMP:
			in.Jt = uint8(moved[i+1+int(in.Jt)] - moved[i] - 1)
			in.Jf = uint8(moved[i+1+int(in.Jf)] - moved[i] - 1)
		}
		out = append(out, in)
	}
	for at, target := range e.far {
		out[at].K = uint32(moved[target] - at - 1)
	}
	return out, moved, true
}

// sameDispatch runs both dispatches at both ends of every range of every
// architecture's cell, and reports whether each leaves the new one where
// it leaves the old one (or at a copy of the return it reaches there).
func sameDispatch(old, new []unix.SockFilter, moved []int, cells []archCell) bool {
	for _, c := range cells {
		for _, arch := range []uint32{c.lo, c.hi} {
			for _, r := range c.regions {
				for _, nr := range []uint32{r.lo, r.hi} {
					o, ok1 := dispatchEnd(old, arch, nr)
					n, ok2 := dispatchEnd(new, arch, nr)
					if !ok1 || !ok2 || (o != r.target && (old[o].Code != retK || old[o] != old[r.target])) {
						return false
					}
					if new[n].Code == retK && new[n] == old[o] {
						continue
					}
					if moved[o] != n {
						return false
					}
				}
			}
		}
	}
	return true
}

// dispatchEnd runs the dispatch of prog for arch and nr, and returns the
// instruction where it leaves it.
func dispatchEnd(prog []unix.SockFilter, arch, nr uint32) (int, bool) {
	var a uint32
	for pc := 0; pc < len(prog); {
		in := prog[pc]
		switch in.Code {
		case ldAbs:
			switch in.K {
			case offNr:
				a = nr
			case offArch:
				a = arch
			default:
				return pc, true
			}
			pc++
		case ja:
			pc += 1 + int(in.K)
		case jeqK, jgtK, jgeK:
			holds := a == in.K
			if in.Code == jgtK {
				holds = a > in.K
			} else if in.Code == jgeK {
				holds = a >= in.K
			}
			if holds {
				pc += 1 + int(in.Jt)
			} else {
				pc += 1 + int(in.Jf)
			}
		default:
			return pc, true
		}
	}
	return 0, false
}
