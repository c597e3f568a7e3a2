import { describeConformance } from '../conformance/suite.js';
import { fakeTarget } from '../conformance/fake.js';

describeConformance('fake dataplane', fakeTarget, { undefinedPorts: false });
