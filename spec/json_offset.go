//go:build !goexperiment.jsonv2

package spec

// syntaxOffsetPast: encoding/json's own engine reports a syntax error's
// offset just past the offending byte.
const syntaxOffsetPast = true
