package libcontainer

import (
	"fmt"
	"os"
)

// Warn reports problems that don't fail the command, such as a failed
// poststart hook. The command line points it at its logger.
var Warn = func(msg string) { fmt.Fprintln(os.Stderr, msg) }

func warnf(format string, a ...any) { Warn(fmt.Sprintf(format, a...)) }

// Debug, when set (husk --debug), receives what each step of create, start
// and exec does, the stages' steps included: they send theirs to husk.
var Debug func(msg string)

func debugf(format string, a ...any) {
	if Debug != nil {
		Debug(fmt.Sprintf(format, a...))
	}
}
