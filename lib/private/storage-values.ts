// Value rules for the artifact bucket: what a GCS bucket location can be.
//
// From Cloud Storage's "Bucket locations" page (https://cloud.google.com/storage/docs/locations):
// a location is a region (e.g. EUROPE-WEST1), a predefined dual-region (ASIA1, EUR4, EUR5,
// EUR7, EUR8, NAM4), or a multi-region (ASIA, EU, US); configurable dual-regions use a
// multi-region code plus a custom placement, which this library does not set. Zonal
// locations (US-CENTRAL1-A) exist only for Rapid buckets, which this library does not create.
// Location codes are case-insensitive; the bucket stores them in upper case. Regions are
// checked by their pattern (new regions appear often); a zone is recognised and refused.

export const GCS_MULTI_REGIONS = ["ASIA", "EU", "US"] as const;
export const GCS_PREDEFINED_DUAL_REGIONS = ["ASIA1", "EUR4", "EUR5", "EUR7", "EUR8", "NAM4"] as const;

const EXPECTED = `a GCS location: a region such as "europe-west1", a predefined dual-region (${GCS_PREDEFINED_DUAL_REGIONS.join(", ")}) or a multi-region (${GCS_MULTI_REGIONS.join(", ")})`;

/** Why a text is not a GCS location for this bucket, or undefined. */
export function gcsLocationProblem(location: string): string | undefined {
  const upper = location.toUpperCase();
  if ((GCS_MULTI_REGIONS as readonly string[]).includes(upper) || (GCS_PREDEFINED_DUAL_REGIONS as readonly string[]).includes(upper)) return undefined;
  if (/^[A-Z]+-[A-Z]+[0-9]{1,2}$/.test(upper)) return undefined;
  if (/^[A-Z]+-[A-Z]+[0-9]{1,2}-[A-Z]$/.test(upper)) {
    return `${EXPECTED}; ${location} is a zone (a bucket's location is a region at least; zonal buckets are Rapid storage only): use "${location.replace(/-[a-zA-Z]$/, "")}"`;
  }
  return EXPECTED;
}
