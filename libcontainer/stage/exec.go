package stage

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// execStage runs a new process in a running container: the preamble joined
// its namespaces; what is left is the process's own settings.
func (c *conn) execStage(cfg *Config) error {
	if cfg.Process.Terminal {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
		if err := c.setupConsole(cfg.ConsoleFD, false, cfg.Process.ConsoleSize); err != nil {
			return err
		}
	}
	c.debugf("exec stage: preparing process %q", cfg.Process.Args)
	p, err := c.prepareProcess(cfg)
	if err != nil {
		return err
	}
	c.debugf("exec stage: executing %s", p.path)
	return p.exec()
}
