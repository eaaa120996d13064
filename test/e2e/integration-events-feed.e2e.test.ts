import { integrationEventFeedScenarios } from './support/integration-events.scenarios';

describe('GET /v1/events, the integration-event feed, over HTTP on the embedded stores (SQLite)', () => {
  integrationEventFeedScenarios({ env: () => ({}) });
});
