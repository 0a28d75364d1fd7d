package org.backplane.metal.kit;

import org.backplane.testkit.ReportContractTests;
import org.backplane.testkit.BackendFixture;

class MetalReportContractTest extends ReportContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
