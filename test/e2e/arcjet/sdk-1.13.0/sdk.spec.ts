import * as sdk from 'arcjet-node-1.13.0';
import { arcjetSdkSuite, ArcjetSdk } from '../../../support/arcjet';

jest.setTimeout(60_000);

arcjetSdkSuite('1.13.0', sdk as unknown as ArcjetSdk);
