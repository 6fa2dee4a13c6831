// Copyright (c) HashiCorp, Inc.
// SPDX-License-Identifier: MPL-2.0

// gitlab-ha addition to terraform-plugin-sdk v2.40.1 (see grpc_provider.patch beside this file):
// the entry points pulumi-terraform-bridge v3.120.0 calls on the SDK (pkg/tfshim/sdk-v2/provider2.go
// and cty.go). They only expose what the stock SDK already computes internally; no behaviour of a
// Terraform provider changes. Written for this project from the bridge's call sites.

package schema

import (
	"context"

	"github.com/hashicorp/go-cty/cty"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"

	"github.com/hashicorp/terraform-plugin-sdk/v2/internal/configs/hcl2shim"
	"github.com/hashicorp/terraform-plugin-sdk/v2/terraform"
)

// HCL2ValueFromConfigValue converts a legacy config value (maps, lists, primitives, the unknown
// placeholder) into a cty value, as the SDK does internally for resource configs.
func HCL2ValueFromConfigValue(v interface{}) cty.Value {
	return hcl2shim.HCL2ValueFromConfigValue(v)
}

// PlanResourceChangeExtraRequest is a plan request plus an optional transform of the legacy diff
// (the bridge applies Pulumi's ignoreChanges there).
type PlanResourceChangeExtraRequest struct {
	tfprotov5.PlanResourceChangeRequest
	TransformInstanceDiff func(*terraform.InstanceDiff) *terraform.InstanceDiff
}

// PlanResourceChangeExtraResponse is the plan response plus the legacy diff it was planned from.
type PlanResourceChangeExtraResponse struct {
	tfprotov5.PlanResourceChangeResponse
	InstanceDiff *terraform.InstanceDiff
}

// diffObserver receives the diff planResourceChange computed; a nil observer ignores it.
type diffObserver interface {
	observe(*terraform.InstanceDiff)
}

type extraObserver struct {
	transform func(*terraform.InstanceDiff) *terraform.InstanceDiff
	diff      *terraform.InstanceDiff
}

func (o *extraObserver) observe(d *terraform.InstanceDiff) {
	if o.transform != nil {
		d = o.transform(d)
	}
	o.diff = d
}

type ignoreDiff struct{}

func (ignoreDiff) observe(*terraform.InstanceDiff) {}

// PlanResourceChange is the stock protocol call.
func (s *GRPCProviderServer) PlanResourceChange(ctx context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	return s.planResourceChange(ctx, req, ignoreDiff{})
}

// PlanResourceChangeExtra plans like PlanResourceChange and also returns the (transformed) diff.
func (s *GRPCProviderServer) PlanResourceChangeExtra(ctx context.Context, req *PlanResourceChangeExtraRequest) (*PlanResourceChangeExtraResponse, error) {
	seen := &extraObserver{transform: req.TransformInstanceDiff}
	resp, err := s.planResourceChange(ctx, &req.PlanResourceChangeRequest, seen)
	if resp == nil {
		return nil, err
	}
	return &PlanResourceChangeExtraResponse{PlanResourceChangeResponse: *resp, InstanceDiff: seen.diff}, err
}
