/** kiln as a library, for serving code. */
export {
  routeShape,
  profileFit,
  varyingDims,
  parseDims,
  formatDims,
  formatShapes,
  isRangedProfile,
  profileInputs,
  type Route,
  type RouteOptions,
  type RouteProfile,
  type FixedRouteProfile,
  type RangedRouteProfile,
  type Shapes,
} from './core/shape-routing.js';
export {
  suggestProfiles,
  profilesYaml,
  parseShapeHistogram,
  type ShapeCount,
  type ObservedShape,
  type Suggestion,
  type SuggestedBucket,
  type SuggestOptions,
} from './core/profile-suggest/index.js';
// What routeShape and the parsers throw on bad input (InputError), so serving code can tell a
// request no profile serves from a bug.
export { KilnError, InputError } from './core/errors.js';
