// Command nonewprivs prints its effective uid. Installed set-uid root in the
// nonewprivs image, it shows whether no_new_privs kept a non-root user from
// gaining root through it (critest's NoNewPrivs tests).
package main

import (
	"fmt"
	"os"
)

func main() { fmt.Printf("Effective uid: %d\n", os.Geteuid()) }
