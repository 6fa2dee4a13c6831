// Package random maps terraform-provider-random to the tokens @pulumi/random 4.21.1 sends. The
// facts follow upstream pulumi-random v4.21.1 provider/resources.go `Provider()`
// (github:pulumi/pulumi-random): tokens.SingleModule("random_", "index", ...) with a "Random"
// prefix (random:index/randomPassword:RandomPassword), random_string's state-version hook,
// random_bytes' ID from `base64`, accurate previews and raw state deltas, auto aliases.
package random

import (
	"context"
	"errors"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is the @pulumi/random pin this provider answers for.
const Version = "4.21.1"

// Provider is the bridge's description of the provider; metadata is the bridge metadata that
// tfgen wrote at build time (empty while tfgen itself runs).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      Version,
		Description:  "Randomness (terraform-provider-random through the Pulumi Terraform bridge)",
		License:      "Apache-2.0",
		Repository:   "https://github.com/pulumi/pulumi-random",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_string": {PreStateUpgradeHook: stringStateVersion},
			"random_bytes":  {ComputeID: bytesID},
		},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	prov.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}))
	prov.MustApplyAutoAliases()
	return prov
}

// stringStateVersion: states written without a version marker are taken as version 1 (upstream's
// note on pulumi/pulumi-random#258).
func stringStateVersion(args tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
	if args.PriorStateSchemaVersion == 0 {
		return 1, args.PriorState, nil
	}
	return args.PriorStateSchemaVersion, args.PriorState, nil
}

// bytesID: RandomBytes is identified by its base64 value, unwrapped when secret.
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	b, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes: no base64 property in state")
	}
	if b.IsSecret() {
		b = b.SecretValue().Element
	}
	if !b.IsString() {
		return "", errors.New("random_bytes: base64 is not a string")
	}
	return resource.ID(b.StringValue()), nil
}
