import { describeConformance } from '../../src/testing/conformance/suite.js';
import { fakeTarget } from '../../src/testing/conformance/fake.js';

describeConformance('fake dataplane', fakeTarget, { undefinedPorts: false });
