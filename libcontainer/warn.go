package libcontainer

import (
	"fmt"
	"os"
)

// Warn reports problems that don't fail the command, such as a failed
// poststart hook. The command line points it at its logger.
var Warn = func(msg string) { fmt.Fprintln(os.Stderr, msg) }

func warnf(format string, a ...any) { Warn(fmt.Sprintf(format, a...)) }
