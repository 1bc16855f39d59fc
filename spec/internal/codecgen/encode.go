package codecgen

import (
	"fmt"
	"reflect"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// encodeStruct writes the encoder of t and returns its name. Its output
// is encoding/json's byte for byte, as spec.Marshal gives it: linux.seccomp
// is the raw profile and comes last in linux, and linux last in the spec
// (the fields of spec.Marshal's wrapper types that hide the embedded
// ones).
func (g *gen) encodeStruct(t reflect.Type) string {
	name := "enc" + t.Name()
	if !g.claim(name) {
		return name
	}
	fs := fieldsOf(t, "")
	for i, fl := range fs {
		if isSeccomp(t, fl.name) || (t == reflect.TypeOf(specs.Spec{}) && fl.name == "linux") {
			fs = append(append(fs[:i:i], fs[i+1:]...), fl)
			break
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "func %s(e *fastEncoder, v *%s) bool {\nsep := byte('{')\n", name, g.typeName(t))
	member := func(name string) string {
		return fmt.Sprintf("e.b = append(e.b, sep)\nsep = ','\ne.b = append(e.b, `%q:`...)\n", name)
	}
	for _, fl := range fs {
		target := "v." + fl.path
		switch {
		case otherPlatform(t, fl.name):
			fmt.Fprintf(&b, "if %s != nil {\nreturn false\n}\n", target)
		case isSeccomp(t, fl.name):
			fmt.Fprintf(&b, "if len(e.seccomp) != 0 {\n%se.b = append(e.b, e.seccomp...)\n}\n", member(fl.name))
		case t == reflect.TypeOf(specs.Spec{}) && fl.name == "linux":
			// A profile without the rest of linux still needs a linux.
			fmt.Fprintf(&b, "if %s != nil || len(e.seccomp) != 0 {\n%sl := %s\nif l == nil {\nl = &specs.Linux{}\n}\nif !%s(e, l) {\nreturn false\n}\n}\n",
				target, member(fl.name), target, g.encodeStruct(fl.typ.Elem()))
		case fl.omitEmpty && fl.typ.Kind() != reflect.Struct:
			fmt.Fprintf(&b, "if %s {\n%s%s}\n", nonEmpty(fl.typ, target), member(fl.name), g.encodeValue(fl.typ, target))
		default:
			b.WriteString(member(fl.name) + g.encodeValue(fl.typ, target))
		}
	}
	b.WriteString("if sep == '{' {\ne.b = append(e.b, '{')\n}\ne.b = append(e.b, '}')\nreturn true\n}\n")
	g.funcs[name] = b.String()
	return name
}

// nonEmpty is the condition under which omitempty keeps a member.
func nonEmpty(t reflect.Type, expr string) string {
	switch t.Kind() {
	case reflect.String:
		return expr + ` != ""`
	case reflect.Bool:
		return expr
	case reflect.Pointer, reflect.Interface:
		return expr + " != nil"
	case reflect.Slice, reflect.Map:
		return "len(" + expr + ") != 0"
	}
	return expr + " != 0"
}

// encodeValue is the code that appends expr, addressable and of type t, to
// e.b as encoding/json would.
func (g *gen) encodeValue(t reflect.Type, expr string) string {
	fail := "return false\n"
	switch t.Kind() {
	case reflect.Struct:
		return fmt.Sprintf("if !%s(e, &%s) {\n%s}\n", g.encodeStruct(t), expr, fail)
	case reflect.Pointer:
		return fmt.Sprintf("if %s == nil {\ne.b = append(e.b, \"null\"...)\n} else {\n%s}\n", expr, g.encodeValue(t.Elem(), "(*"+expr+")"))
	case reflect.String:
		return fmt.Sprintf("e.str(string(%s))\n", expr)
	case reflect.Bool:
		return fmt.Sprintf("e.b = strconv.AppendBool(e.b, bool(%s))\n", expr)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("e.b = strconv.AppendInt(e.b, int64(%s), 10)\n", expr)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("e.b = strconv.AppendUint(e.b, uint64(%s), 10)\n", expr)
	case reflect.Slice:
		i := g.newVar("i")
		return fmt.Sprintf("if %s == nil {\ne.b = append(e.b, \"null\"...)\n} else {\ne.b = append(e.b, '[')\nfor %s := range %s {\nif %s > 0 {\ne.b = append(e.b, ',')\n}\n%s}\ne.b = append(e.b, ']')\n}\n",
			expr, i, expr, i, g.encodeValue(t.Elem(), expr+"["+i+"]"))
	case reflect.Map:
		ks, k, v := g.newVar("keys"), g.newVar("k"), g.newVar("v")
		return fmt.Sprintf("if %s == nil {\ne.b = append(e.b, \"null\"...)\n} else {\n%s := make([]string, 0, len(%s))\nfor %s := range %s {\n%s = append(%s, %s)\n}\nslices.Sort(%s)\ne.b = append(e.b, '{')\nfor i, %s := range %s {\nif i > 0 {\ne.b = append(e.b, ',')\n}\ne.str(%s)\ne.b = append(e.b, ':')\n%s := %s[%s]\n%s}\ne.b = append(e.b, '}')\n}\n",
			expr, ks, expr, k, expr, ks, ks, k, ks, k, ks, k, v, expr, k, g.encodeValue(t.Elem(), v))
	}
	panic(fmt.Sprintf("%s: kind %s not supported", expr, t.Kind()))
}
