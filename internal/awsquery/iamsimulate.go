package awsquery

import (
	"github.com/iamdb/iamdb/internal/iam"
)

// iamSimulatorOps are the actions of the policy simulator.
func iamSimulatorOps() map[string]handler {
	return map[string]handler{
		"SimulatePrincipalPolicy": func(c *call) (any, error) {
			p, err := c.simulation(false)
			if err != nil {
				return nil, err
			}
			if err := unsupported(c, "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption", "CallerArn",
				"PermissionsBoundaryPolicyInputList.member.1"); err != nil {
				return nil, err
			}
			return evaluationResults(c.s.svc.SimulatePrincipalPolicy(c.ctx, c.caller, iam.SimulatePrincipalPolicyInput{
				PolicySourceARN: c.f.str("PolicySourceArn"), PolicyInputList: p.policies, ActionNames: p.actions,
				ResourceARNs: p.resources, ContextEntries: p.context, Marker: c.f.str("Marker"), MaxItems: p.maxItems,
			}))
		},
		"SimulateCustomPolicy": func(c *call) (any, error) {
			p, err := c.simulation(true)
			if err != nil {
				return nil, err
			}
			if err := unsupported(c, "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption"); err != nil {
				return nil, err
			}
			return evaluationResults(c.s.svc.SimulateCustomPolicy(c.ctx, c.caller, iam.SimulateCustomPolicyInput{
				PolicyInputList: p.policies, PermissionsBoundaryPolicyInputList: p.boundaries, ActionNames: p.actions,
				ResourceARNs: p.resources, CallerARN: c.f.str("CallerArn"), ContextEntries: p.context,
				Marker: c.f.str("Marker"), MaxItems: p.maxItems,
			}))
		},
	}
}

// simulation holds the parameters both simulator actions take.
type simulation struct {
	maxItems                                 int
	policies, boundaries, actions, resources []string
	context                                  []iam.ContextEntry
}

// simulation decodes the parameters of a simulator action, with
// PermissionsBoundaryPolicyInputList if boundaries is set.
func (c *call) simulation(boundaries bool) (simulation, error) {
	var p simulation
	var err error
	if p.maxItems, err = c.maxItems("MaxItems", 1, 1000); err != nil {
		return p, err
	}
	if p.policies, err = c.f.strList("PolicyInputList.member."); err != nil {
		return p, err
	}
	if boundaries {
		if p.boundaries, err = c.f.strList("PermissionsBoundaryPolicyInputList.member."); err != nil {
			return p, err
		}
	}
	if p.actions, err = c.f.strList("ActionNames.member."); err != nil {
		return p, err
	}
	if p.resources, err = c.f.strList("ResourceArns.member."); err != nil {
		return p, err
	}
	p.context, err = c.contextEntries()
	return p, err
}

// evaluationResults shapes the answer of a simulator action.
func evaluationResults(out iam.SimulateOutput, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return evaluationPage{listOf(toEvaluationResults(out.EvaluationResults)), page{out.IsTruncated, out.Marker}}, nil
}
