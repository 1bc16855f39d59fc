//go:build goexperiment.jsonv2

package spec

// syntaxOffsetPast: on the v2 engine (GOEXPERIMENT=jsonv2, as the Makefile
// builds) encoding/json reports a syntax error's offset at the offending
// byte itself.
const syntaxOffsetPast = false
