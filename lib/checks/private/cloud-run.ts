// Cloud Run resources as the checks read them: a service's revision template is
// `template`, a job's task template is `template.template`.
import { MlflowSynthesizedResource } from "../rule";
import { JsonObject, blocks } from "./json";

/** The template that runs the containers: a service's `template`, a job's `template.template`. */
export function taskTemplate(resource: MlflowSynthesizedResource): JsonObject | undefined {
  const template = blocks(resource.config.template)[0];
  return resource.type === "google_cloud_run_v2_job" ? blocks(template?.template)[0] : template;
}

/** The containers of a service or a job. */
export function containersOf(resource: MlflowSynthesizedResource): JsonObject[] {
  return blocks(taskTemplate(resource)?.containers);
}
