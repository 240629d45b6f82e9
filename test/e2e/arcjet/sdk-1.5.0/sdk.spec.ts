import * as sdk from 'arcjet-node-1.5.0';
import { arcjetSdkSuite } from '../../../support/arcjet';

jest.setTimeout(60_000);

arcjetSdkSuite('1.5.0', sdk);
