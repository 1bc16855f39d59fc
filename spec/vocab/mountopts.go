package vocab

import (
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MountOptions is what a config.json mount's options list asks of the kernel,
// split by the system call that has to carry each part.
type MountOptions struct {
	// Flags are MS_* flags for the mount(2) that creates the mount.
	Flags uintptr
	// ClearFlags are MS_* flags an option explicitly turned off ("rw",
	// "exec", ...). A bind mount inherits its source's flags and a remount
	// keeps the current ones, so the mount code needs to know what was
	// asked to be off, not only what was asked to be on.
	ClearFlags uintptr
	// PropagationFlags are applied in order, each by its own mount(2),
	// since the kernel refuses propagation changes combined with anything.
	PropagationFlags []uintptr
	// RecAttrSet and RecAttrClr are MOUNT_ATTR_* values for a recursive
	// mount_setattr(2) from the "r"-prefixed options. When an atime option
	// is present RecAttrClr holds all of MOUNT_ATTR__ATIME, as the kernel
	// requires for changing that enumerated field.
	RecAttrSet uint64
	RecAttrClr uint64
	// Data is the options husk does not recognise, comma-joined in their
	// original order, for the filesystem itself (e.g. "mode=755,size=65536k").
	Data string
	// Bind is set by "bind" or "rbind", Recursive by "rbind".
	Bind      bool
	Recursive bool
	// TmpCopyUp is set by "tmpcopyup" (runc's extension, which podman
	// passes for every tmpfs): a tmpfs starts as a copy of what the
	// rootfs has at its destination. Other filesystems ignore it.
	TmpCopyUp bool
}

type optionKind int

const (
	setFlag optionKind = iota
	clearFlag
	propagation
	setAttr
	clearAttr
	atimeAttr // select one value of the MOUNT_ATTR__ATIME enum
	copyUp    // tmpcopyup: never passed to mount(2)
)

type mountOption struct {
	kind optionKind
	flag uintptr
	attr uint64
}

var mountOptionTable = map[string]mountOption{
	"async":         {kind: clearFlag, flag: unix.MS_SYNCHRONOUS},
	"atime":         {kind: clearFlag, flag: unix.MS_NOATIME},
	"bind":          {kind: setFlag, flag: unix.MS_BIND},
	"defaults":      {kind: setFlag},
	"dev":           {kind: clearFlag, flag: unix.MS_NODEV},
	"diratime":      {kind: clearFlag, flag: unix.MS_NODIRATIME},
	"dirsync":       {kind: setFlag, flag: unix.MS_DIRSYNC},
	"exec":          {kind: clearFlag, flag: unix.MS_NOEXEC},
	"idmap":         {kind: setFlag}, // made by the idmapped-mount code, never passed to mount(2)
	"iversion":      {kind: setFlag, flag: unix.MS_I_VERSION},
	"lazytime":      {kind: setFlag, flag: unix.MS_LAZYTIME},
	"loud":          {kind: clearFlag, flag: unix.MS_SILENT},
	"mand":          {kind: setFlag, flag: unix.MS_MANDLOCK},
	"noatime":       {kind: setFlag, flag: unix.MS_NOATIME},
	"nodev":         {kind: setFlag, flag: unix.MS_NODEV},
	"nodiratime":    {kind: setFlag, flag: unix.MS_NODIRATIME},
	"noexec":        {kind: setFlag, flag: unix.MS_NOEXEC},
	"noiversion":    {kind: clearFlag, flag: unix.MS_I_VERSION},
	"nolazytime":    {kind: clearFlag, flag: unix.MS_LAZYTIME},
	"nomand":        {kind: clearFlag, flag: unix.MS_MANDLOCK},
	"norelatime":    {kind: clearFlag, flag: unix.MS_RELATIME},
	"nostrictatime": {kind: clearFlag, flag: unix.MS_STRICTATIME},
	"nosuid":        {kind: setFlag, flag: unix.MS_NOSUID},
	"nosymfollow":   {kind: setFlag, flag: unix.MS_NOSYMFOLLOW},
	"rbind":         {kind: setFlag, flag: unix.MS_BIND | unix.MS_REC},
	"relatime":      {kind: setFlag, flag: unix.MS_RELATIME},
	"remount":       {kind: setFlag, flag: unix.MS_REMOUNT},
	"ridmap":        {kind: setFlag}, // as idmap
	"ro":            {kind: setFlag, flag: unix.MS_RDONLY},
	"rw":            {kind: clearFlag, flag: unix.MS_RDONLY},
	"silent":        {kind: setFlag, flag: unix.MS_SILENT},
	"strictatime":   {kind: setFlag, flag: unix.MS_STRICTATIME},
	"suid":          {kind: clearFlag, flag: unix.MS_NOSUID},
	"symfollow":     {kind: clearFlag, flag: unix.MS_NOSYMFOLLOW},
	"sync":          {kind: setFlag, flag: unix.MS_SYNCHRONOUS},
	"tmpcopyup":     {kind: copyUp},

	"private":     {kind: propagation, flag: unix.MS_PRIVATE},
	"rprivate":    {kind: propagation, flag: unix.MS_PRIVATE | unix.MS_REC},
	"shared":      {kind: propagation, flag: unix.MS_SHARED},
	"rshared":     {kind: propagation, flag: unix.MS_SHARED | unix.MS_REC},
	"slave":       {kind: propagation, flag: unix.MS_SLAVE},
	"rslave":      {kind: propagation, flag: unix.MS_SLAVE | unix.MS_REC},
	"unbindable":  {kind: propagation, flag: unix.MS_UNBINDABLE},
	"runbindable": {kind: propagation, flag: unix.MS_UNBINDABLE | unix.MS_REC},

	"rro":          {kind: setAttr, attr: unix.MOUNT_ATTR_RDONLY},
	"rrw":          {kind: clearAttr, attr: unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {kind: setAttr, attr: unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {kind: clearAttr, attr: unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {kind: setAttr, attr: unix.MOUNT_ATTR_NODEV},
	"rdev":         {kind: clearAttr, attr: unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {kind: setAttr, attr: unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {kind: clearAttr, attr: unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {kind: setAttr, attr: unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {kind: clearAttr, attr: unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {kind: setAttr, attr: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {kind: clearAttr, attr: unix.MOUNT_ATTR_NOSYMFOLLOW},

	// mount_setattr(2) treats atime as one value out of three rather than
	// independent bits, so each negation has to name a mode: undoing
	// noatime or strictatime falls back to the kernel default, relatime,
	// and not-relatime means updating atime on every access.
	"rnoatime":       {kind: atimeAttr, attr: unix.MOUNT_ATTR_NOATIME},
	"ratime":         {kind: atimeAttr, attr: unix.MOUNT_ATTR_RELATIME},
	"rrelatime":      {kind: atimeAttr, attr: unix.MOUNT_ATTR_RELATIME},
	"rnorelatime":    {kind: atimeAttr, attr: unix.MOUNT_ATTR_STRICTATIME},
	"rstrictatime":   {kind: atimeAttr, attr: unix.MOUNT_ATTR_STRICTATIME},
	"rnostrictatime": {kind: atimeAttr, attr: unix.MOUNT_ATTR_RELATIME},
}

// ParseMountOptions interprets a mount's options in order, a later option
// overriding an earlier one that touches the same flag ("ro,rw" is
// read-write). Options it does not recognise end up in Data.
func ParseMountOptions(opts []string) (m MountOptions) {
	var data []string
	for _, o := range opts {
		opt, ok := mountOptionTable[o]
		if !ok {
			data = append(data, o)
			continue
		}
		switch opt.kind {
		case setFlag:
			m.Flags |= opt.flag
			m.ClearFlags &^= opt.flag
		case clearFlag:
			m.Flags &^= opt.flag
			m.ClearFlags |= opt.flag
		case propagation:
			m.PropagationFlags = append(m.PropagationFlags, opt.flag)
		case setAttr:
			m.RecAttrSet |= opt.attr
			m.RecAttrClr &^= opt.attr
		case clearAttr:
			m.RecAttrSet &^= opt.attr
			m.RecAttrClr |= opt.attr
		case atimeAttr:
			m.RecAttrSet = m.RecAttrSet&^unix.MOUNT_ATTR__ATIME | opt.attr
			m.RecAttrClr |= unix.MOUNT_ATTR__ATIME
		case copyUp:
			m.TmpCopyUp = true
		}
	}
	m.Bind = m.Flags&unix.MS_BIND != 0
	m.Recursive = m.Bind && m.Flags&unix.MS_REC != 0
	m.Data = strings.Join(data, ",")
	return m
}

// KnownMountOptions returns the option names ParseMountOptions recognises,
// sorted; anything else is handed to the filesystem as data.
func KnownMountOptions() []string {
	names := make([]string, 0, len(mountOptionTable))
	for name := range mountOptionTable {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// IDMapOf reports whether a spec mount asks for an idmapped mount, and
// whether the mapping applies to its submounts too ("ridmap"). Mappings
// without either option still ask for one: the spec only recommends the
// option, so that older runtimes fail rather than ignore the mappings.
// Like other options, the later of idmap and ridmap wins.
func IDMapOf(m specs.Mount) (idmapped, recursive bool) {
	for _, o := range m.Options {
		switch o {
		case "idmap":
			idmapped, recursive = true, false
		case "ridmap":
			idmapped, recursive = true, true
		}
	}
	return idmapped || len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0, recursive
}
