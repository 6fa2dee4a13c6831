// The provider plugin. schema.json and bridge-metadata.json are not in the repository: the build
// generates them with pulumi-tfgen-random into this folder of its work copy before compiling.
package main

import (
	"context"
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	random "gitlab-ha.local/engine/random"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main(context.Background(), "random", random.Provider(metadata),
		tfbridge.ProviderMetadata{PackageSchema: schema, BridgeMetadata: metadata})
}
