// Construct ids of per-member IAM bindings (`google_*_iam_member`), shared by the VM and the
// Cloud Run server.
import { createHash } from "crypto";
import { Construct } from "constructs";
import { TerraformResource, TerraformStack, Token } from "cdktf";

/**
 * The construct id of one member's binding, named after the member, not its place in the
 * list: with `Invoker0`, `Invoker1`, … removing the first member moves the second one's
 * binding to another address, and Terraform may create it there before it deletes the old
 * one. Both are the same member and role, and an `_iam_member` resource's delete removes
 * that member from the role's binding (it is non-authoritative: it owns one member of one
 * role, provider docs of each `google_*_iam_member`), so the member loses access until the
 * next apply. A member that is a token (known only at apply) keeps its place number, the only
 * stable name it has at synth.
 */
export function memberBindingId(prefix: string, member: string, index: number): string {
  if (Token.isUnresolved(member)) return `${prefix}${index}`;
  return `${prefix}-${createHash("sha256").update(member).digest("hex").slice(0, 10)}`;
}

/**
 * A binding that 0.1.0 created at `${prefix}${index}` (place numbers), now at
 * `memberBindingId(prefix, member, index)`: a `moved` block takes its state along, so an
 * upgrade with the same list neither deletes nor re-creates it (a delete after the create
 * would remove the member's access, above). Terraform ignores a `moved` block whose source is
 * not in the state (a new deployment). The old address comes from the stack itself
 * (`getLogicalId` of a construct at the old path, removed again), so a stack that names its
 * resources its own way still gets its own old address.
 */
export function moveFromPlaceNumber(binding: TerraformResource, prefix: string, index: number): void {
  const oldId = `${prefix}${index}`;
  const scope = binding.node.scope;
  if (scope === undefined || binding.node.id === oldId) return;
  const probe = new Construct(scope, oldId);
  const logicalId = TerraformStack.of(binding).getLogicalId(probe.node);
  scope.node.tryRemoveChild(oldId);
  binding.moveFromId(`${binding.terraformResourceType}.${logicalId}`);
}
