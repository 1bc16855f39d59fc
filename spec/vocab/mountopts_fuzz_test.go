package vocab

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParseMountOptions checks ParseMountOptions on any comma-separated
// options list (config.json's mounts[].options, and
// linux.rootfsPropagation): the result must be what applying the options
// one by one gives, so "later wins" holds for any mix, and it must be a
// request the kernel can take.
func FuzzParseMountOptions(f *testing.F) {
	for _, seed := range []string{
		"",
		"defaults",
		"nosuid,strictatime,mode=755,size=65536k",
		"gid=5,nosuid,mode=0620,ptmxmode=0666,newinstance",
		"ro,nosuid,rw,suid,nosuid",
		"rbind,ro,rro,rprivate,x-husk=1,nosuid",
		"rprivate,shared,rslave,unbindable,private,rshared,slave,runbindable",
		"rro,rrw,rnoexec",
		"rnoatime,rnodev,ratime",
		"rstrictatime,rnostrictatime",
		"rstrictatime,rnoatime,rrelatime,rnorelatime",
		"bind,idmap,ridmap,tmpcopyup",
		"remount,bind,ro",
		"context=\"system_u:object_r:container_file_t:s0\"",
		",,",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		opts := strings.Split(list, ",")
		got := ParseMountOptions(opts)

		var want MountOptions
		var data []string
		for _, o := range opts {
			one := ParseMountOptions([]string{o})
			if _, known := mountOptionTable[o]; !known {
				if !reflect.DeepEqual(one, MountOptions{Data: o}) {
					t.Fatalf("unknown option %q parsed as %+v", o, one)
				}
				data = append(data, o)
				continue
			}
			want.Flags = want.Flags&^one.ClearFlags | one.Flags
			want.ClearFlags = want.ClearFlags&^one.Flags | one.ClearFlags
			want.RecAttrSet = want.RecAttrSet&^one.RecAttrClr | one.RecAttrSet
			want.RecAttrClr = want.RecAttrClr&^one.RecAttrSet | one.RecAttrClr
			want.PropagationFlags = append(want.PropagationFlags, one.PropagationFlags...)
			want.TmpCopyUp = want.TmpCopyUp || one.TmpCopyUp
		}
		if got.Flags != want.Flags || got.ClearFlags != want.ClearFlags {
			t.Errorf("flags %#x clear %#x, want %#x clear %#x", got.Flags, got.ClearFlags, want.Flags, want.ClearFlags)
		}
		if got.RecAttrSet != want.RecAttrSet || got.RecAttrClr != want.RecAttrClr {
			t.Errorf("attr set %#x clr %#x, want set %#x clr %#x", got.RecAttrSet, got.RecAttrClr, want.RecAttrSet, want.RecAttrClr)
		}
		if !slices.Equal(got.PropagationFlags, want.PropagationFlags) {
			t.Errorf("propagation %#x, want %#x", got.PropagationFlags, want.PropagationFlags)
		}
		if got.TmpCopyUp != want.TmpCopyUp || got.TmpCopyUp != slices.Contains(opts, "tmpcopyup") {
			t.Errorf("tmpcopyup %v, want %v", got.TmpCopyUp, want.TmpCopyUp)
		}
		if d := strings.Join(data, ","); got.Data != d {
			t.Errorf("data %q, want %q", got.Data, d)
		}
		if got.Flags&got.ClearFlags != 0 {
			t.Errorf("flags %#x both set and cleared", got.Flags&got.ClearFlags)
		}
		if both := got.RecAttrSet & got.RecAttrClr &^ unix.MOUNT_ATTR__ATIME; both != 0 {
			t.Errorf("recursive attrs %#x both set and cleared", both)
		}
		// mount_setattr(2) takes the atime field whole: cleared entirely
		// when any atime mode is asked for, and one mode at most.
		if clr := got.RecAttrClr & unix.MOUNT_ATTR__ATIME; clr != 0 && clr != unix.MOUNT_ATTR__ATIME {
			t.Errorf("attr_clr has partial atime bits %#x", clr)
		}
		switch set := got.RecAttrSet & unix.MOUNT_ATTR__ATIME; {
		case set != 0 && got.RecAttrClr&unix.MOUNT_ATTR__ATIME == 0:
			t.Errorf("attr_set has atime bits %#x without clearing the field", set)
		case set != 0 && set != unix.MOUNT_ATTR_NOATIME && set != unix.MOUNT_ATTR_STRICTATIME:
			t.Errorf("attr_set asks for more than one atime mode: %#x", set)
		}
		if got.Bind != (got.Flags&unix.MS_BIND != 0) || got.Recursive != (got.Bind && got.Flags&unix.MS_REC != 0) {
			t.Errorf("bind %v recursive %v with flags %#x", got.Bind, got.Recursive, got.Flags)
		}
		for _, p := range got.PropagationFlags {
			if p&^unix.MS_REC == 0 || p&^(unix.MS_REC|unix.MS_PRIVATE|unix.MS_SHARED|unix.MS_SLAVE|unix.MS_UNBINDABLE) != 0 {
				t.Errorf("propagation change %#x is not one type (with MS_REC)", p)
			}
		}
	})
}
