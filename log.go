package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// logger writes runc-shaped log lines: containerd's go-runc reads the last
// {"level":"error",...} line of --log, conmon/podman reads it as one object.
type logWriter struct {
	out   io.Writer
	json  bool
	debug bool
}

var logger = &logWriter{}

func (l *logWriter) setup(path, format string, debug bool) error {
	switch format {
	case "text":
	case "json":
		l.json = true
	default:
		return fmt.Errorf("--log-format: unknown format %q: want text or json", format)
	}
	l.debug = debug
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
	if err != nil {
		return fmt.Errorf("open log file %s: %w", path, err)
	}
	l.out = f
	return nil
}

// log writes one line at level to --log, or to stderr without --log.
func (l *logWriter) log(level, msg string) {
	if level == "debug" && !l.debug {
		return
	}
	out := l.out
	if out == nil {
		out = os.Stderr
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if l.json {
		line, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		fmt.Fprintf(out, "%s\n", line)
		return
	}
	fmt.Fprintf(out, "time=%q level=%s msg=%s\n", now, level, strconv.Quote(msg))
}

// fatal reports a failed command: a log line when --log is set, and always
// the bare message on stderr, which is what a user (and podman without
// --log) shows.
func (l *logWriter) fatal(err error) {
	if l.out != nil {
		l.log("error", err.Error())
	}
	fmt.Fprintln(os.Stderr, err.Error())
}
