import { FakeNftMechanism } from '../../src/dataplanes/nftables/fake/index.js';
import { describeNftMechanism } from '../conformance/nft-mechanism.js';

describeNftMechanism('in-memory fake', async () => {
  const mech = new FakeNftMechanism();
  return { mech, destroy: () => mech.close() };
});
