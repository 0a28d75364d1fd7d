package org.backplane.cuda.kit;

import org.backplane.testkit.ReportContractTests;
import org.backplane.testkit.BackendFixture;

class CudaReportContractTest extends ReportContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
