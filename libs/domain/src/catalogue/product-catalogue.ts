/**
 * The product catalogue of docs/domain.md, as data (R7: "The list is data, not code").
 * `selfServiceCancellation` says whether the admin console may cancel the product; every other
 * product is cancelled through support. `roomHardware` marks GoTo Room (R18).
 */
export interface Product {
  readonly productId: string;
  readonly name: string;
  readonly selfServiceCancellation: boolean;
  readonly roomHardware: boolean;
}

const product = (
  productId: string,
  name: string,
  selfServiceCancellation: boolean,
  roomHardware = false,
): Product => Object.freeze({ productId, name, selfServiceCancellation, roomHardware });

export const PRODUCT_CATALOGUE: readonly Product[] = Object.freeze([
  product('goto-meeting', 'GoTo Meeting', true),
  product('goto-webinar', 'GoTo Webinar', true),
  product('goto-training', 'GoTo Training', true),
  product('openvoice', 'OpenVoice', true),
  product('gotoassist-rs-v5', 'GoToAssist Remote Support v5', true),
  product('gotoassist-rs-v4', 'GoToAssist Remote Support v4', true),
  product('goto-connect', 'GoTo Connect', false),
  product('goto-room', 'GoTo Room', false, true),
  product('grasshopper', 'Grasshopper', false),
  product('join-me', 'join.me', false),
  product('resolve', 'GoTo Resolve', false),
  product('resolve-mdm', 'Resolve MDM', false),
  product('pro', 'Pro', false),
  product('central', 'Central', false),
  product('rescue', 'Rescue', false),
  product('gotomypc', 'GoToMyPC', false),
  product('hamachi', 'Hamachi', false),
  product('remotelyanywhere', 'RemotelyAnywhere', false),
]);

const byId = new Map(PRODUCT_CATALOGUE.map((p) => [p.productId, p]));

export function findProduct(productId: string): Product | undefined {
  return byId.get(productId);
}

export const PRODUCT_IDS: readonly string[] = PRODUCT_CATALOGUE.map((p) => p.productId);
