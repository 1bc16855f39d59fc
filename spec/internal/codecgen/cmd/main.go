// Command codecgen writes spec/codec_gen.go (go generate ./spec).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/husk-runtime/husk/spec/internal/codecgen"
)

func main() {
	out := flag.String("o", "codec_gen.go", "file to write")
	flag.Parse()
	src, err := codecgen.Source()
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "codecgen:", err)
		os.Exit(1)
	}
}
