package cgroups

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpfInsn is one eBPF instruction in the kernel's encoding.
type bpfInsn struct {
	code uint8
	regs uint8 // dst and src register, a nibble each
	off  int16
	imm  int32
}

const (
	ldxW    = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W
	movReg  = unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_X
	movImm  = unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_K
	andImm  = unix.BPF_ALU64 | unix.BPF_AND | unix.BPF_K
	rshImm  = unix.BPF_ALU64 | unix.BPF_RSH | unix.BPF_K
	jneImm  = unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K
	jeqImm  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	exitOp  = unix.BPF_JMP | unix.BPF_EXIT
	regRet  = 0 // r0: the verdict, 1 allows and 0 denies
	regCtx  = 1 // r1: struct bpf_cgroup_dev_ctx {access_type, major, minor}
	regType = 2
	regAcc  = 3
	regMaj  = 4
	regMin  = 5
	regTmp  = 6
)

// littleEndian decides the register nibbles: the kernel declares them as
// C bitfields (dst_reg:4, src_reg:4), which compilers lay out from the low
// bits on little-endian machines and from the high bits on big-endian ones.
func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

func insn(code uint8, dst, src uint8, off int16, imm int32) bpfInsn {
	regs := dst | src<<4
	if !littleEndian() {
		regs = dst<<4 | src
	}
	return bpfInsn{code: code, regs: regs, off: off, imm: imm}
}

// program compiles the policy: a block per exception that returns the
// opposite of the default when the device matches, then the default. A
// default-deny policy allows a device when one exception grants every
// access asked for; a default-allow policy denies it when an exception
// covers any of them. That is how the v1 controller decides.
func (p devicePolicy) program() ([]bpfInsn, error) {
	prog := []bpfInsn{
		// access_type is (access << 16) | type.
		insn(ldxW, regType, regCtx, 0, 0),
		insn(movReg, regAcc, regType, 0, 0),
		insn(rshImm, regAcc, 0, 0, 16),
		insn(andImm, regType, 0, 0, 0xffff),
		insn(ldxW, regMaj, regCtx, 4, 0),
		insn(ldxW, regMin, regCtx, 8, 0),
	}
	for _, ex := range p.exceptions {
		var match []bpfInsn
		typ := int32(unix.BPF_DEVCG_DEV_BLOCK)
		if ex.char {
			typ = unix.BPF_DEVCG_DEV_CHAR
		}
		match = append(match, insn(jneImm, regType, 0, 0, typ))
		for _, n := range []struct {
			reg uint8
			v   int64
		}{{regMaj, ex.major}, {regMin, ex.minor}} {
			if n.v < 0 {
				continue
			}
			if n.v > math.MaxInt32 {
				return nil, fmt.Errorf("cgroups: device number %d out of range", n.v)
			}
			match = append(match, insn(jneImm, n.reg, 0, 0, int32(n.v)))
		}
		match = append(match, insn(movReg, regTmp, regAcc, 0, 0))
		if p.allow {
			match = append(match,
				insn(andImm, regTmp, 0, 0, int32(ex.access)),
				insn(jeqImm, regTmp, 0, 0, 0))
		} else {
			match = append(match,
				insn(andImm, regTmp, 0, 0, int32(^ex.access&7)),
				insn(jneImm, regTmp, 0, 0, 0))
		}
		match = append(match,
			insn(movImm, regRet, 0, 0, verdict(!p.allow)),
			insn(exitOp, 0, 0, 0, 0))
		// Every jump so far means "no match": it skips to the next block.
		for i := range match {
			if match[i].code == jneImm || match[i].code == jeqImm {
				match[i].off = int16(len(match) - i - 1)
			}
		}
		prog = append(prog, match...)
	}
	return append(prog,
		insn(movImm, regRet, 0, 0, verdict(p.allow)),
		insn(exitOp, 0, 0, 0, 0)), nil
}

func verdict(allow bool) int32 {
	if allow {
		return 1
	}
	return 0
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr.
type progLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
}

// loadDeviceProgram loads a BPF_PROG_TYPE_CGROUP_DEVICE program and returns
// its fd. When the kernel refuses it, the load is repeated with the
// verifier's log, which goes into the error.
func loadDeviceProgram(insns []bpfInsn) (int, error) {
	// The program calls no helper, so no GPL-only one either, and the
	// license string has nothing to unlock.
	license := []byte{0}
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(insns)),
		insns:    uint64(uintptr(unsafe.Pointer(&insns[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil || errors.Is(err, unix.EPERM) {
		runtime.KeepAlive(insns)
		runtime.KeepAlive(license)
		return fd, wrapLoad(err, "")
	}
	log := make([]byte, 64<<10)
	attr.logLevel, attr.logSize = 1, uint32(len(log))
	attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
	fd, err = bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	if n := bytes.IndexByte(log, 0); n >= 0 {
		log = log[:n]
	}
	return fd, wrapLoad(err, string(log))
}

func wrapLoad(err error, log string) error {
	switch {
	case err == nil:
		return nil
	case log != "":
		return fmt.Errorf("load eBPF device program: %w\nverifier log:\n%s", err, log)
	}
	return fmt.Errorf("load eBPF device program: %w", err)
}

// attachAttr is the BPF_PROG_ATTACH and BPF_PROG_DETACH part of union
// bpf_attr.
type attachAttr struct {
	targetFD     uint32
	attachBPFFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBPFFD uint32
}

// queryAttr is the BPF_PROG_QUERY part of union bpf_attr.
type queryAttr struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCnt     uint32
	_           uint32
}

// attachDeviceProgram attaches prog to the cgroup dir and then detaches
// the device programs attached there before, so that the cgroup is never
// left without a filter. BPF_F_ALLOW_MULTI keeps programs attached to
// ancestors (by systemd, say) in force as well.
func attachDeviceProgram(dir string, prog int) error {
	cg, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(cg)
	old, err := attachedDevicePrograms(cg)
	if err != nil {
		return fmt.Errorf("list device programs of %s: %w", dir, err)
	}
	attr := attachAttr{
		targetFD:    uint32(cg),
		attachBPFFD: uint32(prog),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: unix.BPF_F_ALLOW_MULTI,
	}
	if _, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return fmt.Errorf("attach device program to %s: %w", dir, err)
	}
	for _, id := range old {
		if err := detachProgram(cg, id); err != nil {
			return fmt.Errorf("detach old device program from %s: %w", dir, err)
		}
	}
	return nil
}

// attachedDevicePrograms lists the ids of the device programs attached
// directly to the cgroup cg.
func attachedDevicePrograms(cg int) ([]uint32, error) {
	for size := 8; ; size *= 2 {
		ids := make([]uint32, size)
		attr := queryAttr{
			targetFD:   uint32(cg),
			attachType: unix.BPF_CGROUP_DEVICE,
			progIDs:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
			progCnt:    uint32(size),
		}
		_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(ids)
		switch {
		case errors.Is(err, unix.ENOSPC):
			continue
		case err != nil:
			return nil, err
		}
		return ids[:attr.progCnt], nil
	}
}

func detachProgram(cg int, id uint32) error {
	getAttr := struct{ id, nextID, openFlags uint32 }{id: id}
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&getAttr), unsafe.Sizeof(getAttr))
	if errors.Is(err, unix.ENOENT) {
		return nil // detached meanwhile
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	attr := attachAttr{targetFD: uint32(cg), attachBPFFD: uint32(fd), attachType: unix.BPF_CGROUP_DEVICE}
	_, err = bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
