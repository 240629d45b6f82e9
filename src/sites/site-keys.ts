import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { loadOrCreateSecret } from '../platform/secret-file';

export const SITE_KEY_PREFIX = 'bwk_';

/** A new site key: 256 random bits, base64url, with a prefix that secret scanners can match. */
export function generateSiteKey(): string {
  return SITE_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256 is enough for a 256-bit random secret: there is nothing to brute-force. */
export function hashSiteKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two key hashes in constant time. */
export function sameKeyHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Encrypts site keys at rest (AES-256-GCM) so that key managers can read a key again while a
 * database dump alone reveals none. The encryption key comes from ENCRYPTION_KEY, or in embedded
 * mode from `DATA_DIR/encryption.key`, created with owner-only permissions on first start.
 */
@Injectable()
export class SiteKeyCipher {
  private readonly key: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.key = SiteKeyCipher.loadKey(config);
  }

  static loadKey(config: Pick<AppConfig, 'encryptionKey' | 'dataDir'>): Buffer {
    if (config.encryptionKey) return Buffer.from(config.encryptionKey, 'base64');
    if (config.dataDir === 'memory://') return randomBytes(32);
    const text = loadOrCreateSecret(
      config.dataDir,
      'encryption.key',
      () => randomBytes(32).toString('base64') + '\n',
    );
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== 32)
      throw new Error(`${config.dataDir}/encryption.key must hold 32 bytes in base64`);
    return key;
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      'v1',
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !body) throw new Error('Unknown site key encoding');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(body, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  }
}
