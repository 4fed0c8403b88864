/**
 * Typed models of the Fieldline API, generated from the server's OpenAPI document
 * (Fieldline API 1.0.0, OpenAPI 3.1.0).
 * Do not edit: run `npm run generate-models -- <server url>` (tools/generate-models.ts).
 */

export interface AuditCheckIn {
  visit_id: string;
  customer_id: string;
  customer_name: string | null;
  at: string;
  lat: number;
  lon: number;
  accuracy_m: number | null;
  status: "verified" | "suspicious" | "rejected" | null;
  distance_m: number | null;
  reasons: string[];
}

export interface AuditDeviation {
  kind: "off_route" | "long_dwell" | "missed_visit" | "unplanned_visit" | "gps_gap";
  start: string | null;
  end: string | null;
  max_distance_m: number | null;
  detail: string;
  customer_id?: string | null;
  lat?: number | null;
  lon?: number | null;
  length_km?: number | null;
  duration_s?: number | null;
}

export interface AuditGap {
  start: string;
  end: string;
  duration_s: number;
  distance_m: number;
  implied_speed_kmh: number;
  customer_id: string | null;
  is_deviation: boolean;
}

export interface AuditPlannedStop {
  seq: number;
  customer_id: string;
  status: "visited" | "passed" | "missed";
  counted_visited: boolean;
  arrived_at: string | null;
  departed_at: string | null;
  closest_m: number | null;
  closest_at: string | null;
  planned_at: string | null;
}

export interface AuditStop {
  start: string;
  end: string;
  lat: number;
  lon: number;
  customer_id: string | null;
  kind: "customer_visit" | "unplanned_stop";
  duration_s: number;
  planned_seq: number | null;
  distance_to_customer_m: number | null;
  radius_m: number;
  n_fixes: number;
}

export interface AuditSummary {
  km_travelled: number;
  km_estimated_in_gaps: number;
  time_on_site_s: number;
  time_stopped_s: number;
  time_moving_s: number;
  planned_count: number;
  visited_count: number;
  missed_count: number;
  unplanned_visit_count: number;
  off_route_count: number;
  long_dwell_count: number;
  gps_gap_count: number;
  gps_gap_s: number;
  in_planned_order: boolean | null;
  first_fix_at: string | null;
  last_fix_at: string | null;
  fixes_received: number;
  fixes_used: number;
}

export interface ConflictOut {
  id: number;
  entity: unknown;
  entity_id: string;
  status: string;
  conflicts: Record<string, unknown>[];
  error: Record<string, unknown> | null;
  client_hlc: string | null;
  user_id: string | null;
  client_id: string | null;
  seq: number | null;
  created_at: string;
}

export interface ConflictPage {
  items: ConflictOut[];
  limit: number;
  offset: number;
  total: number;
}

export interface Contact {
  name: string;
  phone?: string | null;
  role?: string | null;
}

export interface Customer {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  name: string | null;
  address: string | null;
  /** WGS84 latitude, degrees */
  lat: number | null;
  /** WGS84 longitude, degrees */
  lon: number | null;
  /** geofence radius, metres */
  geofence_radius_m: number | null;
  status_tag: "green" | "yellow" | "red" | null;
  status_reason: string | null;
  assigned_rep_id: string | null;
  contacts: Contact[] | null;
  notes: string | null;
  is_prospect: boolean | null;
  created_by_id: string | null;
}

export interface CustomerCreate {
  id?: string;
  name?: string;
  address?: string | null;
  /** WGS84 latitude, degrees */
  lat?: number | null;
  /** WGS84 longitude, degrees */
  lon?: number | null;
  /** geofence radius, metres */
  geofence_radius_m?: number | null;
  status_tag?: "green" | "yellow" | "red" | null;
  status_reason?: string | null;
  assigned_rep_id?: string | null;
  contacts?: Contact[];
  notes?: string | null;
  is_prospect?: boolean;
}

export interface CustomerPage {
  items: Customer[];
  limit: number;
  offset: number;
  total: number;
}

export interface CustomerUpdate {
  name?: string;
  address?: string | null;
  /** WGS84 latitude, degrees */
  lat?: number | null;
  /** WGS84 longitude, degrees */
  lon?: number | null;
  /** geofence radius, metres */
  geofence_radius_m?: number | null;
  status_tag?: "green" | "yellow" | "red" | null;
  status_reason?: string | null;
  assigned_rep_id?: string | null;
  contacts?: Contact[];
  notes?: string | null;
  is_prospect?: boolean;
}

export interface DailyReport {
  rep: ReportRep;
  date: string;
  timezone: string;
  summary: ReportSummary;
  visits: ReportVisit[];
  expenses: Expense[];
  deviations: AuditDeviation[];
  stops: AuditStop[];
  map_url: string;
}

export interface Expense {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  rep_id: string | null;
  visit_id: string | null;
  receipt_media_id: string | null;
  status: "draft" | "processing" | "needs_review" | "submitted" | "approved" | "rejected" | null;
  merchant: string | null;
  /** calendar date YYYY-MM-DD */
  date: string | null;
  /** decimal string, e.g. "12.50" */
  total: string | null;
  /** decimal string, e.g. "12.50" */
  tax: string | null;
  /** ISO 4217 code */
  currency: string | null;
  category_code: string | null;
  notes: string | null;
  extraction: Record<string, unknown> | null;
  flags: Record<string, unknown>[] | null;
  review: ReviewInput | null;
}

export interface ExpenseCategory {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  code: string | null;
  name: string | null;
  /** decimal string, e.g. "12.50" */
  daily_limit: string | null;
  /** ISO 4217 code */
  currency: string | null;
}

export interface ExpenseCategoryCreate {
  id?: string;
  code?: string;
  name?: string;
  /** decimal string, e.g. "12.50" */
  daily_limit?: string | null;
  /** ISO 4217 code */
  currency?: string | null;
}

export interface ExpenseCategoryPage {
  items: ExpenseCategory[];
  limit: number;
  offset: number;
  total: number;
}

export interface ExpenseCategoryUpdate {
  name?: string;
  /** decimal string, e.g. "12.50" */
  daily_limit?: string | null;
  /** ISO 4217 code */
  currency?: string | null;
}

export interface ExpenseCreate {
  id?: string;
  visit_id?: string | null;
  status?: "draft" | "processing" | "needs_review" | "submitted" | "approved" | "rejected";
  merchant?: string | null;
  /** calendar date YYYY-MM-DD */
  date?: string | null;
  /** decimal string, e.g. "12.50" */
  total?: string | null;
  /** decimal string, e.g. "12.50" */
  tax?: string | null;
  /** ISO 4217 code */
  currency?: string | null;
  category_code?: string | null;
  notes?: string | null;
  review?: ReviewInput | null;
}

export interface ExpensePage {
  items: Expense[];
  limit: number;
  offset: number;
  total: number;
}

export interface ExpenseUpdate {
  visit_id?: string | null;
  status?: "draft" | "processing" | "needs_review" | "submitted" | "approved" | "rejected";
  merchant?: string | null;
  /** calendar date YYYY-MM-DD */
  date?: string | null;
  /** decimal string, e.g. "12.50" */
  total?: string | null;
  /** decimal string, e.g. "12.50" */
  tax?: string | null;
  /** ISO 4217 code */
  currency?: string | null;
  category_code?: string | null;
  notes?: string | null;
  review?: ReviewInput | null;
}

export interface Fix {
  /** RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z */
  at: string;
  /** WGS84 latitude, degrees */
  lat: number;
  /** WGS84 longitude, degrees */
  lon: number;
  accuracy_m?: number | null;
  provider?: string | null;
  is_mock?: boolean | null;
  /** RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z */
  fix_at?: string | null;
}

export interface KeysOut {
  keys: Record<string, string>[];
}

export interface LineString {
  type: "LineString";
  coordinates: [number, number][];
}

export interface MeOut {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  role: string;
  team_id: string | null;
  device_id: string;
  timezone: string;
}

export interface MediaForm {
  kind: string;
  entity_id: string;
  file: string;
}

export interface MediaOut {
  id: string;
  kind: string;
  sha256: string;
  size: number;
  content_type: string;
  status: string;
  entity_id?: string | null;
  filename?: string | null;
  width?: number | null;
  height?: number | null;
  created_at: string;
}

export interface MoneyTotal {
  currency: string | null;
  total: string;
}

export interface MutationIn {
  seq: number;
  entity: unknown;
  id: unknown;
  op: unknown;
  hlc?: unknown;
  base_version?: unknown;
  fields?: unknown;
}

export interface Photo {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  visit_id: string | null;
  media_id: string | null;
  caption: string | null;
  evidence: Record<string, unknown> | null;
}

export interface PhotoCreate {
  id?: string;
  visit_id?: string;
  caption?: string | null;
}

export interface PhotoPage {
  items: Photo[];
  limit: number;
  offset: number;
  total: number;
}

export interface PhotoUpdate {
  caption?: string | null;
}

/** RFC 9457 problem details; `code` is stable and machine-readable */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: ({
    field?: string | null;
    code?: string;
    message?: string;
  })[];
}

export interface Product {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  sku: string | null;
  name: string | null;
  unit: string | null;
  /** decimal string, e.g. "12.50" */
  price: string | null;
  /** ISO 4217 code */
  currency: string | null;
}

export interface ProductCreate {
  id?: string;
  sku?: string;
  name?: string;
  unit?: string | null;
  /** decimal string, e.g. "12.50" */
  price?: string | null;
  /** ISO 4217 code */
  currency?: string | null;
}

export interface ProductPage {
  items: Product[];
  limit: number;
  offset: number;
  total: number;
}

export interface ProductUpdate {
  sku?: string;
  name?: string;
  unit?: string | null;
  /** decimal string, e.g. "12.50" */
  price?: string | null;
  /** ISO 4217 code */
  currency?: string | null;
}

export interface PullResponse {
  schema_version: number;
  cursor: string;
  has_more: boolean;
  last_seq: number;
  server_hlc: string;
  changes: Record<string, unknown>[];
}

export interface PushRequest {
  schema_version: number;
  client_id: string;
  mutations: MutationIn[];
}

export interface PushResponse {
  last_seq: number;
  server_hlc: string;
  results: Record<string, unknown>[];
}

export interface RefreshRequest {
  refresh_token: string;
}

export interface RejectedPoint {
  index: number;
  code: string;
  field?: string | null;
}

export interface ReportRep {
  id: string;
  name: string;
}

export interface ReportSummary {
  visits: number;
  visits_completed: number;
  check_ins: Record<string, number>;
  actions: number;
  photos: number;
  expenses: number;
  expense_totals: MoneyTotal[];
  route: AuditSummary;
}

export interface ReportVisit {
  visit: Visit;
  customer_name: string | null;
  actions: VisitAction[];
  photos: Photo[];
}

export interface ReviewInput {
  status: "pending" | "approved" | "rejected";
  comment?: string | null;
}

export interface ReviewRequest {
  status: "approved" | "rejected";
  comment?: string | null;
}

export interface RouteAudit {
  rep_id: string;
  date: string;
  timezone: string;
  summary: AuditSummary;
  stops: AuditStop[];
  deviations: AuditDeviation[];
  check_ins: AuditCheckIn[];
  gaps: AuditGap[];
  planned_stops: AuditPlannedStop[];
}

export interface RoutePlan {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  rep_id: string | null;
  /** calendar date YYYY-MM-DD */
  date: string | null;
  name: string | null;
  stops: Stop[] | null;
  path: LineString | null;
}

export interface RoutePlanCreate {
  id?: string;
  rep_id?: string;
  /** calendar date YYYY-MM-DD */
  date?: string;
  name?: string | null;
  stops?: Stop[];
  path?: LineString | null;
}

export interface RoutePlanPage {
  items: RoutePlan[];
  limit: number;
  offset: number;
  total: number;
}

export interface RoutePlanUpdate {
  rep_id?: string;
  /** calendar date YYYY-MM-DD */
  date?: string;
  name?: string | null;
  stops?: Stop[];
  path?: LineString | null;
}

export interface Stop {
  customer_id: string;
  /** RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z */
  planned_at?: string | null;
}

export interface SyncInfo {
  server_hlc: string;
  schema_versions: number[];
  limits: SyncLimits;
  history_days: number;
}

export interface SyncLimits {
  max_mutations: number;
  max_push_bytes: number;
  max_pull_limit: number;
}

export interface TeamCreate {
  name: string;
  manager_id?: string | null;
}

export interface TeamOut {
  id: string;
  name: string;
  manager_id: string | null;
  member_ids: string[];
}

export interface TeamUpdate {
  name?: string;
  manager_id?: string | null;
}

export interface TenantSettings {
  timezone?: string;
  default_currency?: string;
  geofence_radius_m?: number;
  max_accuracy_m?: number;
  max_fix_age_s?: number;
  max_speed_kmh?: number;
  max_clock_skew_s?: number;
  stale_receipt_days?: number;
  category_keywords?: Record<string, string[]>;
  route_corridor_m?: number;
  route_corridor_path_m?: number;
  off_route_min_s?: number;
  long_dwell_s?: number;
  gps_gap_s?: number;
}

export interface TenantSettingsUpdate {
  timezone?: string;
  default_currency?: string;
  geofence_radius_m?: number;
  max_accuracy_m?: number;
  max_fix_age_s?: number;
  max_speed_kmh?: number;
  max_clock_skew_s?: number;
  stale_receipt_days?: number;
  category_keywords?: Record<string, string[]>;
  route_corridor_m?: number;
  route_corridor_path_m?: number;
  off_route_min_s?: number;
  long_dwell_s?: number;
  gps_gap_s?: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: TokenUser;
  token_type?: string;
}

export interface TokenRequest {
  email: string;
  password: string;
  device_id: string;
  device_name?: string | null;
  platform?: string | null;
}

export interface TokenUser {
  id: string;
  tenant_id: string;
  role: string;
  name: string;
}

export interface TrackIngestResult {
  accepted: number;
  duplicates: number;
  rejected: RejectedPoint[];
}

export interface User {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  role: string | null;
  team_id: string | null;
  is_active: boolean | null;
}

export interface UserCreate {
  email: string;
  name: string;
  role: "rep" | "manager" | "admin";
  password: string;
  team_id?: string | null;
  phone?: string | null;
}

export interface UserPage {
  items: User[];
  limit: number;
  offset: number;
  total: number;
}

export interface UserUpdate {
  name?: string;
  role?: "rep" | "manager" | "admin";
  team_id?: string | null;
  phone?: string | null;
  is_active?: boolean;
  password?: string;
}

export interface VerifyForm {
  file: string;
}

export interface VerifyOut {
  authentic: boolean;
  reason: string;
  media_id?: string | null;
  visit_id?: string | null;
  rep_id?: string | null;
  issued_at?: string | null;
  lat?: number | null;
  lon?: number | null;
}

export interface Visit {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  customer_id: string | null;
  rep_id: string | null;
  route_plan_id: string | null;
  /** RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z */
  planned_at: string | null;
  status: "planned" | "in_progress" | "completed" | "cancelled" | null;
  check_in: Fix | null;
  check_out: Fix | null;
  check_in_verdict: Record<string, unknown> | null;
  notes: string | null;
  outcome: string | null;
  next_steps: string | null;
  review: ReviewInput | null;
}

export interface VisitAction {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  visit_id: string | null;
  kind: "order_intent" | "sample_drop" | "competitor_report" | "display_check" | "price_check" | "stock_check" | "payment_collection" | "complaint" | "training" | "survey" | "contract" | "delivery" | null;
  payload: Record<string, unknown> | null;
}

export interface VisitActionCreate {
  id?: string;
  visit_id?: string;
  kind?: "order_intent" | "sample_drop" | "competitor_report" | "display_check" | "price_check" | "stock_check" | "payment_collection" | "complaint" | "training" | "survey" | "contract" | "delivery";
  payload?: Record<string, unknown>;
}

export interface VisitActionPage {
  items: VisitAction[];
  limit: number;
  offset: number;
  total: number;
}

export interface VisitActionUpdate {
  kind?: "order_intent" | "sample_drop" | "competitor_report" | "display_check" | "price_check" | "stock_check" | "payment_collection" | "complaint" | "training" | "survey" | "contract" | "delivery";
  payload?: Record<string, unknown>;
}

export interface VisitCreate {
  id?: string;
  customer_id?: string;
  rep_id?: string;
  route_plan_id?: string | null;
  /** RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z */
  planned_at?: string | null;
  status?: "planned" | "in_progress" | "completed" | "cancelled";
  check_in?: Fix | null;
  check_out?: Fix | null;
  notes?: string | null;
  outcome?: string | null;
  next_steps?: string | null;
  review?: ReviewInput | null;
}

export interface VisitPage {
  items: Visit[];
  limit: number;
  offset: number;
  total: number;
}

export interface VisitUpdate {
  customer_id?: string;
  rep_id?: string;
  route_plan_id?: string | null;
  /** RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z */
  planned_at?: string | null;
  status?: "planned" | "in_progress" | "completed" | "cancelled";
  check_in?: Fix | null;
  check_out?: Fix | null;
  notes?: string | null;
  outcome?: string | null;
  next_steps?: string | null;
  review?: ReviewInput | null;
}

/** The synced entities, by their sync name. */
export const ENTITY_NAMES = ["customer", "expense", "expense_category", "photo", "product", "route_plan", "user", "visit", "visit_action"] as const;

export type EntityName = (typeof ENTITY_NAMES)[number];

export interface EntityMap {
  customer: Customer;
  expense: Expense;
  expense_category: ExpenseCategory;
  photo: Photo;
  product: Product;
  route_plan: RoutePlan;
  user: User;
  visit: Visit;
  visit_action: VisitAction;
}
