package awsquery

import (
	"github.com/iamdb/iamdb/internal/iam"
)

// iamSimulatorOps are the actions of the policy simulator.
func iamSimulatorOps() map[string]handler {
	return map[string]handler{
		"SimulatePrincipalPolicy": func(c *call) (any, error) {
			var in iam.SimulatePrincipalPolicyInput
			var err error
			in.PolicySourceARN, in.Marker = c.f.str("PolicySourceArn"), c.f.str("Marker")
			if in.MaxItems, err = c.maxItems("MaxItems", 1, 1000); err != nil {
				return nil, err
			}
			if in.PolicyInputList, err = c.f.strList("PolicyInputList.member."); err != nil {
				return nil, err
			}
			if in.ActionNames, err = c.f.strList("ActionNames.member."); err != nil {
				return nil, err
			}
			if in.ResourceARNs, err = c.f.strList("ResourceArns.member."); err != nil {
				return nil, err
			}
			if in.ContextEntries, err = c.contextEntries(); err != nil {
				return nil, err
			}
			if err := unsupported(c, "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption", "CallerArn",
				"PermissionsBoundaryPolicyInputList.member.1"); err != nil {
				return nil, err
			}
			out, err := c.s.svc.SimulatePrincipalPolicy(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return evaluationPage{listOf(toEvaluationResults(out.EvaluationResults)), page{out.IsTruncated, out.Marker}}, nil
		},
		"SimulateCustomPolicy": func(c *call) (any, error) {
			var in iam.SimulateCustomPolicyInput
			var err error
			in.CallerARN, in.Marker = c.f.str("CallerArn"), c.f.str("Marker")
			if in.MaxItems, err = c.maxItems("MaxItems", 1, 1000); err != nil {
				return nil, err
			}
			if in.PolicyInputList, err = c.f.strList("PolicyInputList.member."); err != nil {
				return nil, err
			}
			if in.PermissionsBoundaryPolicyInputList, err = c.f.strList("PermissionsBoundaryPolicyInputList.member."); err != nil {
				return nil, err
			}
			if in.ActionNames, err = c.f.strList("ActionNames.member."); err != nil {
				return nil, err
			}
			if in.ResourceARNs, err = c.f.strList("ResourceArns.member."); err != nil {
				return nil, err
			}
			if in.ContextEntries, err = c.contextEntries(); err != nil {
				return nil, err
			}
			if err := unsupported(c, "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption"); err != nil {
				return nil, err
			}
			out, err := c.s.svc.SimulateCustomPolicy(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return evaluationPage{listOf(toEvaluationResults(out.EvaluationResults)), page{out.IsTruncated, out.Marker}}, nil
		},
	}
}
