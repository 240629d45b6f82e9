export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'read',
  'rules:write',
  'sites:write',
  'site-keys:manage',
  'members:manage',
  'team:update',
  'team:delete',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What each role may do in its team. Viewers only read; members also change rules (the daily
 * work of tuning protection); admins also manage sites, site keys, members and the team's name;
 * only owners delete the team. Granting or removing the owner role is an owner's act (checked
 * in the members service), so an admin cannot promote itself past its own role.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set<Permission>([
    'read',
    'rules:write',
    'sites:write',
    'site-keys:manage',
    'members:manage',
    'team:update',
  ]),
  member: new Set<Permission>(['read', 'rules:write']),
  viewer: new Set<Permission>(['read']),
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

export const SCOPES = { read: 'bulwark:read', write: 'bulwark:write' } as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/**
 * The OAuth scope a permission needs. Scopes bound what a client (an agent) may do on the
 * user's behalf, roles bound what the user may do; an operation needs both.
 */
export function scopeFor(permission: Permission): Scope {
  return permission === 'read' ? SCOPES.read : SCOPES.write;
}

/** Whether a token's scopes grant `scope`; `bulwark:write` also covers reads. */
export function hasScope(scopes: readonly string[], scope: Scope): boolean {
  return scopes.includes(scope) || (scope === SCOPES.read && scopes.includes(SCOPES.write));
}
