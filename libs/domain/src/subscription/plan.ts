export type Plan =
  | { readonly kind: 'monthly' }
  | { readonly kind: 'annual' }
  | { readonly kind: 'fixed_term'; readonly termMonths: number }
  | { readonly kind: 'trial'; readonly trialDays: number };

export type PlanKind = Plan['kind'];

export const PLAN_KINDS: readonly PlanKind[] = ['monthly', 'annual', 'fixed_term', 'trial'];

/** Bounds that keep a plan meaningful: a 0-month term would never end, a 10-year trial is a typo. */
export const MAX_TERM_MONTHS = 120;
export const MAX_TRIAL_DAYS = 366;
