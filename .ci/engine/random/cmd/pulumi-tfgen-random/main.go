// The bridge's generator (Plugin Framework flavour): writes schema.json and bridge-metadata.json
// for the provider binary (.ci/engine/build runs `pulumi-tfgen-random schema --out <dir>`).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	random "gitlab-ha.local/engine/random"
)

func main() { tfgen.Main("random", random.Provider(nil)) }
