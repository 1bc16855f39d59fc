package codecgen

import (
	"fmt"
	"reflect"
	"strings"
)

// decodeStruct writes the decoder of t, which decodes as encoding/json
// does or returns false, and returns its name.
func (g *gen) decodeStruct(t reflect.Type) string {
	name := "dec" + t.Name()
	if !g.claim(name) {
		return name
	}
	fs := fieldsOf(t, "")
	var b strings.Builder
	fmt.Fprintf(&b, "func %s(f *fastDecoder, v *%s) bool {\n", name, g.typeName(t))
	b.WriteString("if f.null() {\nreturn true\n}\nif !f.begin('{') {\nreturn false\n}\nfor f.more() {\nk, ok := f.key()\nif !ok {\nreturn false\n}\nswitch k {\n")
	known := make([]string, 0, len(fs))
	for _, fl := range fs {
		known = append(known, fmt.Sprintf("%q", fl.name))
		fmt.Fprintf(&b, "case %q:\n", fl.name)
		switch {
		case isSeccomp(t, fl.name):
			b.WriteString("if !f.rawSeccomp() {\nreturn false\n}\n")
		case otherPlatform(t, fl.name):
			b.WriteString("return false\n")
		default:
			b.WriteString(g.decodeValue(fl.typ, "v."+fl.path))
		}
	}
	fmt.Fprintf(&b, "default:\nif !f.skip(k, %s) {\nreturn false\n}\n}\n}\nreturn f.end('}')\n}\n", strings.Join(known, ", "))
	g.funcs[name] = b.String()
	return name
}

// decodeValue is the code that decodes the next JSON value into target,
// an addressable Go expression of type t, as encoding/json would, and
// returns false from the function where the fast decoder can't.
func (g *gen) decodeValue(t reflect.Type, target string) string {
	fail := "return false\n"
	switch t.Kind() {
	case reflect.Struct:
		return fmt.Sprintf("if !%s(f, &%s) {\n%s}\n", g.decodeStruct(t), target, fail)
	case reflect.Pointer:
		return fmt.Sprintf("if f.null() {\n%s = nil\n} else {\nif %s == nil {\n%s = new(%s)\n}\n%s}\n",
			target, target, target, g.typeName(t.Elem()), g.decodeValue(t.Elem(), "(*"+target+")"))
	case reflect.String:
		return fmt.Sprintf("if !f.str((*string)(&%s)) {\n%s}\n", target, fail)
	case reflect.Bool:
		return fmt.Sprintf("if !f.boolean(&%s) {\n%s}\n", target, fail)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("if !decInt(f, &%s, %d) {\n%s}\n", target, t.Bits(), fail)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("if !decUint(f, &%s, %d) {\n%s}\n", target, t.Bits(), fail)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			panic(fmt.Sprintf("%s: byte slices not supported", target))
		}
		e := g.newVar("e")
		return fmt.Sprintf("if f.null() {\n%s = nil\n} else {\nif !f.begin('[') {\n%s}\n%s = %s{}\nfor f.more() {\nvar %s %s\n%s%s = append(%s, %s)\n}\nif !f.end(']') {\n%s}\n}\n",
			target, fail, target, g.typeName(t), e, g.typeName(t.Elem()), g.decodeValue(t.Elem(), e), target, target, e, fail)
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key().PkgPath() != "" {
			panic(fmt.Sprintf("%s: map key %s not supported", target, t.Key()))
		}
		e, k := g.newVar("e"), g.newVar("k")
		return fmt.Sprintf("if f.null() {\n%s = nil\n} else {\nif !f.begin('{') {\n%s}\n%s = %s{}\nfor f.more() {\n%s, ok := f.key()\nif !ok {\n%s}\nvar %s %s\n%s%s[%s] = %s\n}\nif !f.end('}') {\n%s}\n}\n",
			target, fail, target, g.typeName(t), k, fail, e, g.typeName(t.Elem()), g.decodeValue(t.Elem(), e), target, k, e, fail)
	}
	panic(fmt.Sprintf("%s: kind %s not supported", target, t.Kind()))
}
