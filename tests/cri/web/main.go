// Command web stands in for the web server images critest uses (nginx,
// httpd): it answers every HTTP request on $WEB_PORT (default 80) with 200,
// writes its pid to /var/run/nginx.pid and runs with the argv[0] nginx's
// master shows ("nginx: master process ..."), which critest's PID namespace
// tests look for in /proc/1/cmdline. Built static, the image's only binary
// besides busybox, as /usr/sbin/nginx.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"syscall"
)

const masterArgv0 = "nginx: master process nginx"

func main() {
	if os.Args[0] != masterArgv0 {
		// Show nginx's process title: re-exec with it as argv[0].
		self, err := os.Executable()
		if err == nil {
			err = syscall.Exec(self, []string{masterArgv0}, os.Environ())
		}
		fmt.Fprintln(os.Stderr, "web: re-exec:", err)
		os.Exit(1)
	}
	port := os.Getenv("WEB_PORT")
	if port == "" {
		port = "80"
	}
	os.MkdirAll("/var/run", 0o755)
	if err := os.WriteFile("/var/run/nginx.pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
	}
	fmt.Println("web (an httpd and nginx stand-in): listening on port", port)
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "husk cri test web server")
	})
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}
