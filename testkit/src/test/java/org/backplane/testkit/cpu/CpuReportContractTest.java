package org.backplane.testkit.cpu;

import org.backplane.testkit.ReportContractTests;
import org.backplane.testkit.BackendFixture;

class CpuReportContractTest extends ReportContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
