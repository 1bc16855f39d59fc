package vocab

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestIDMapOf(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	for _, c := range []struct {
		name                string
		m                   specs.Mount
		idmapped, recursive bool
	}{
		{"plain bind", specs.Mount{Options: []string{"rbind", "ro"}}, false, false},
		{"idmap", specs.Mount{Options: []string{"rbind", "idmap"}}, true, false},
		{"ridmap", specs.Mount{Options: []string{"bind", "ridmap"}}, true, true},
		{"later option wins", specs.Mount{Options: []string{"ridmap", "idmap"}}, true, false},
		{"mappings without option", specs.Mount{Options: []string{"rbind"}, UIDMappings: maps, GIDMappings: maps}, true, false},
		{"only gid mappings", specs.Mount{GIDMappings: maps}, true, false},
		{"mappings and ridmap", specs.Mount{Options: []string{"ridmap"}, UIDMappings: maps, GIDMappings: maps}, true, true},
	} {
		idmapped, recursive := IDMapOf(c.m)
		if idmapped != c.idmapped || recursive != c.recursive {
			t.Errorf("%s: IDMapOf = %v, %v; want %v, %v", c.name, idmapped, recursive, c.idmapped, c.recursive)
		}
	}
}
