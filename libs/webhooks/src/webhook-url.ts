/** Longest endpoint URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Why a webhook URL is refused (null: accepted). SSRF care: http or https only (https only with
 * NODE_ENV=production), no credentials in the URL, an absolute URL with a host. Redirects are never
 * followed when sending (WebhookSender), so a URL cannot bounce the service elsewhere.
 */
export function webhookUrlProblem(raw: string, o: { production: boolean }): string | null {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (o.production && url.protocol !== 'https:') return 'must be https (NODE_ENV=production)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be http or https';
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  if (url.hostname === '') return 'must name a host';
  // An empty fragment ('…#') leaves url.hash empty: the raw text says it.
  if (url.hash !== '' || raw.includes('#')) return 'must not carry a fragment';
  return null;
}
