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
   * @param movedFrom010 whether 0.1.0 made these bindings (in the owner, numbered in the order
   *   of the calls) and they outlive the upgrade, so a `moved` block must take their state along
   */
  constructor(
    private readonly owner: Construct,
    private readonly idPrefix: string,
    private readonly method: string,
    private readonly movedFrom010 = false,
  ) {}

  /**
   * The binding of `member` in `scope`, created with `create(parent, id)` the first time.
   * Its id is named after the member (memberBindingId: removing one grant never moves
   * another); a member known only at apply (e.g. a service account's email) keeps its place
   * number, as always. With `movedFrom010`, a binding in the owner gets a `moved` block from
   * the place-numbered id 0.1.0 gave it (`${idPrefix}0`, `1`, … in the order of the calls).
   * In the owner (no scope, or the owner itself) the bindings are its children; in another
   * scope (new in 0.2.0) they go into one child construct named after the owner's path (e.g.
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
    if (this.movedFrom010 && parent === this.owner) moveFromPlaceNumber(binding, this.idPrefix, place);
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
