package libcontainer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestStateEncode: State.encode gives json.Marshal's bytes, for a state
// with every exported field set (a field added to State and not to encode
// fails it) and for the zero state.
func TestStateEncode(t *testing.T) {
	odd := "x\u00e9\"\\<&>\u2028\x01\xff"
	var full State
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(odd)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(-3)
		case reflect.Uint64:
			f.SetUint(1 << 63)
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"memory": odd, odd: "/x", "": ""}))
		case reflect.Slice: // Config
			f.SetBytes([]byte(`{"ociVersion":"1.2.0","process":{"args":["sh"]}}`))
		case reflect.Struct: // Created
			f.Set(reflect.ValueOf(time.Date(2026, 12, 5, 19, 30, 1, 123456789, time.FixedZone("x", 3600))))
		default:
			t.Fatalf("State.%s: a %s the test does not fill", v.Type().Field(i).Name, f.Kind())
		}
	}
	for name, s := range map[string]*State{"every field": &full, "zero": {}, "record": {ID: "a", Creating: true, CgroupPaths: map[string]string{}}} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := s.encode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := bytes.Join(parts, nil); !bytes.Equal(got, want) {
			t.Errorf("%s:\nencode %s\njson   %s", name, got, want)
		}
	}
}
