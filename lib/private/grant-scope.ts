// Where a grant helper (`grantReadWrite`, `grantAccess`) creates its IAM binding. By default
// the binding lives in the construct that owns the resource, as before; with a `scope` it
// lives there instead, the aws-cdk-lib pattern: a principal from another stack passes its
// own stack, so the binding refers to the resource (the principal's stack depends on the
// resource's) and the resource's stack never refers back to the principal. Without it,
// `stack.artifactStore.grantReadWrite("serviceAccount:" + trainer.email)` with the account
// in a stack that also reads from the MLflow stack fails synth: "Cannot add dependency …
// circular dependency".
import { Construct } from "constructs";
import { TerraformResource, TerraformStack } from "cdktf";
import { IAM_MEMBER, Validator } from "../validation";
import { memberBindingId, moveFromPlaceNumber } from "./member-binding";

/** One binding per member and scope: asking twice returns the first one. */
export class GrantBindings<T extends TerraformResource> {
  private readonly bindings = new Map<string, T>();

  /**
   * @param owner the construct that owns the resource (the default scope)
   * @param idPrefix construct id prefix of the bindings (`ObjectUser-<hash of the member>`, or
   *   for a member known only at apply its place in the scope: `ObjectUser0`, …)
   * @param method the grant method's name, for validation messages
   */
  constructor(
    private readonly owner: Construct,
    private readonly idPrefix: string,
    private readonly method: string,
  ) {}

  /**
   * The binding of `member` in `scope`, created with `create(parent, id)` the first time.
   * Its id is named after the member (memberBindingId: removing one grant never moves
   * another), and a `moved` block takes along the state of the binding the place-numbered
   * ids of 0.1.0 (`${idPrefix}0`, `1`, … in the order of the calls) gave it. A member known
   * only at apply (e.g. a service account's email) keeps its place number, as always. In the
   * owner (no scope, or the owner itself) the bindings are its children; in another scope
   * they go into one child construct named after the owner's path (e.g.
   * `mlflow-ArtifactStore`), so grants of several resources to one stack never collide.
   */
  public bindingFor(member: string, scope: Construct | undefined, create: (parent: Construct, id: string) => T): T {
    const v = new Validator();
    v.check(`${this.method}(member)`, member, IAM_MEMBER.test, IAM_MEMBER.expected);
    if (scope !== undefined && scope.node.root !== this.owner.node.root) {
      v.fail(`${this.method}(scope)`, scope.node.path, "a construct in the same app as the resource it grants access to");
    } else if (scope !== undefined && !inAStack(scope)) {
      v.fail(`${this.method}(scope)`, scope.node.path, "a construct inside a TerraformStack (e.g. the principal's stack)");
    }
    v.throwIfInvalid(this.owner.node.path);

    const parent = scope === undefined || scope === this.owner ? this.owner : this.containerIn(scope);
    const key = `${parent.node.path}\u0000${member}`;
    const existing = this.bindings.get(key);
    if (existing) return existing;
    const place = parent.node.children.filter((c) => c.node.id.startsWith(this.idPrefix)).length;
    const binding = create(parent, memberBindingId(this.idPrefix, member, place));
    moveFromPlaceNumber(binding, this.idPrefix, place);
    this.bindings.set(key, binding);
    return binding;
  }

  private containerIn(scope: Construct): Construct {
    const id = this.owner.node.path.split("/").join("-");
    return (scope.node.tryFindChild(id) as Construct | undefined) ?? new Construct(scope, id);
  }
}

function inAStack(scope: Construct): boolean {
  return scope.node.scopes.some((s) => TerraformStack.isStack(s));
}
