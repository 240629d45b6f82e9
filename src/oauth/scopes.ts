/** The scopes an access token for Bulwark can carry; write tools and REST writes need `bulwark:write`. */
export const RESOURCE_SCOPES = ['bulwark:read', 'bulwark:write'] as const;
/** Everything a client may ask the built-in server for (`offline_access` for refresh tokens). */
export const SUPPORTED_SCOPES = [...RESOURCE_SCOPES, 'offline_access'] as const;
