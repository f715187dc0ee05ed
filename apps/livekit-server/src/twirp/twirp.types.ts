import type Joi from 'joi';

import type { GrantCheck } from './twirp.auth';

/** One Twirp method: the grant it needs, its request schema and what it returns (protobuf JSON). */
export interface TwirpMethod {
  grant: GrantCheck;
  schema: Joi.ObjectSchema;
  run: (body: any) => Promise<unknown>;
}
